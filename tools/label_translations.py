"""Fill the catalogs' translations of the enumeration labels (ceasefire/labels.py).

Run after `make catalogs` has extracted the messages: `python tools/label_translations.py`,
then `make catalogs` again to compile. Entries already translated are left as they are.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "src" / "ceasefire" / "locales"

# (context, English): (ru, tr, az, hy)
LABELS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("corroboration", "one source"): ("один источник", "tek kaynak", "bir mənbə", "մեկ աղբյուր"),
    ("corroboration", "several platforms"): (
        "несколько платформ",
        "birden fazla platform",
        "bir neçə platforma",
        "մի քանի հարթակ",
    ),
    ("corroboration", "several contingents"): (
        "несколько контингентов",
        "birden fazla birlik",
        "bir neçə kontingent",
        "մի քանի զորակազմ",
    ),
    ("corroboration", "both contingents"): (
        "оба контингента",
        "her iki birlik",
        "hər iki kontingent",
        "երկու զորակազմերը",
    ),
    ("corroboration", "a party's complaint only"): (
        "только жалоба стороны",
        "yalnızca tarafın şikâyeti",
        "yalnız tərəfin şikayəti",
        "միայն կողմի բողոքը",
    ),
    ("incident status", "open"): ("открыт", "açık", "açıq", "բաց"),
    ("incident status", "being assessed"): (
        "на оценке",
        "değerlendiriliyor",
        "qiymətləndirilir",
        "գնահատվում է",
    ),
    ("incident status", "joint finding"): (
        "совместное заключение",
        "ortak tespit",
        "birgə nəticə",
        "համատեղ եզրակացություն",
    ),
    ("incident status", "disputed"): (
        "разногласие",
        "görüş ayrılığı",
        "fikir ayrılığı",
        "տարաձայնություն",
    ),
    ("incident status", "superseded"): (
        "заменён",
        "yerine başkası geçti",
        "əvəz olunub",
        "փոխարինված",
    ),
    ("zone kind", "line of contact"): (
        "линия соприкосновения",
        "temas hattı",
        "təmas xətti",
        "շփման գիծ",
    ),
    ("zone kind", "controlled area"): (
        "контролируемый район",
        "kontrol bölgesi",
        "nəzarət ərazisi",
        "վերահսկվող տարածք",
    ),
    ("zone kind", "peacekeeping zone"): (
        "зона миротворцев",
        "barış gücü bölgesi",
        "sülhməramlı zonası",
        "խաղաղապահների գոտի",
    ),
    ("zone kind", "corridor"): ("коридор", "koridor", "dəhliz", "միջանցք"),
    ("zone kind", "buffer zone"): (
        "буферная зона",
        "tampon bölge",
        "bufer zona",
        "բուֆերային գոտի",
    ),
    ("zone kind", "withdrawal zone"): (
        "зона отвода",
        "çekilme bölgesi",
        "çəkilmə zonası",
        "դուրսբերման գոտի",
    ),
    ("zone kind", "handover area"): (
        "передаваемый район",
        "devredilen bölge",
        "təhvil ərazisi",
        "հանձնվող տարածք",
    ),
    ("zone kind", "road"): ("дорога", "yol", "yol", "ճանապարհ"),
    ("zone kind", "site"): ("объект", "tesis", "obyekt", "օբյեկտ"),
    ("reaction", "record only"): (
        "только зафиксировать",
        "yalnızca kayda geçir",
        "yalnız qeydə al",
        "միայն արձանագրել",
    ),
    ("reaction", "notify the peacekeepers"): (
        "уведомить миротворцев",
        "barış gücüne bildir",
        "sülhməramlıları xəbərdar et",
        "տեղեկացնել խաղաղապահներին",
    ),
    ("reaction", "notify both parties"): (
        "уведомить обе стороны",
        "her iki tarafa bildir",
        "hər iki tərəfi xəbərdar et",
        "տեղեկացնել երկու կողմերին",
    ),
    ("reaction", "request an explanation"): (
        "запросить объяснение",
        "açıklama iste",
        "izahat tələb et",
        "պահանջել բացատրություն",
    ),
    ("reaction", "request re-observation"): (
        "запросить повторное наблюдение",
        "yeniden gözlem iste",
        "təkrar müşahidə tələb et",
        "պահանջել կրկնակի դիտարկում",
    ),
    ("reaction", "refer to the heads"): (
        "передать руководителям",
        "komutanlara ilet",
        "rəhbərlərə ötür",
        "փոխանցել ղեկավարներին",
    ),
    ("tier", "two keys (both heads)"): (
        "два ключа (оба руководителя)",
        "iki anahtar (iki komutan)",
        "iki açar (hər iki rəhbər)",
        "երկու բանալի (երկու ղեկավարները)",
    ),
    ("tier", "joint (both contingents)"): (
        "совместно (оба контингента)",
        "ortak (iki birlik)",
        "birgə (hər iki kontingent)",
        "համատեղ (երկու զորակազմերը)",
    ),
    ("tier", "urgent (one side, answered later)"): (
        "срочно (одна сторона, ответ позже)",
        "acil (bir taraf, yanıt sonra)",
        "təcili (bir tərəf, cavab sonra)",
        "շտապ (մեկ կողմ, պատասխանը՝ ավելի ուշ)",
    ),
    ("decision state", "proposed"): ("предложено", "önerildi", "təklif edilib", "առաջարկված"),
    ("decision state", "approved"): ("утверждено", "onaylandı", "təsdiqlənib", "հաստատված"),
    ("decision state", "rejected"): ("отклонено", "reddedildi", "rədd edilib", "մերժված"),
    ("decision state", "taken"): ("принято", "alındı", "qəbul edilib", "ընդունված"),
    ("decision state", "confirmed"): (
        "подтверждено",
        "teyit edildi",
        "təsdiq edilib",
        "հաստատված է երկրորդ կողմից",
    ),
    ("decision state", "contested"): ("оспорено", "itiraz edildi", "etiraz edilib", "վիճարկված"),
    ("decision state", "escalated to the heads"): (
        "передано руководителям",
        "komutanlara iletildi",
        "rəhbərlərə ötürülüb",
        "փոխանցված ղեկավարներին",
    ),
    ("decision step", "proposed"): ("предложил", "önerdi", "təklif etdi", "առաջարկեց"),
    ("decision step", "took it (urgent)"): (
        "принял (срочно)",
        "aldı (acil)",
        "qəbul etdi (təcili)",
        "ընդունեց (շտապ)",
    ),
    ("decision step", "approved"): ("утвердил", "onayladı", "təsdiqlədi", "հաստատեց"),
    ("decision step", "rejected"): ("отклонил", "reddetti", "rədd etdi", "մերժեց"),
    ("decision step", "confirmed"): (
        "подтвердил",
        "teyit etti",
        "təsdiq etdi",
        "հաստատեց որպես երկրորդ կողմ",
    ),
    ("decision step", "contested"): ("оспорил", "itiraz etti", "etiraz etdi", "վիճարկեց"),
    ("decision step", "escalated to the heads"): (
        "передано руководителям",
        "komutanlara iletildi",
        "rəhbərlərə ötürüldü",
        "փոխանցվեց ղեկավարներին",
    ),
    ("violation", "a violation"): ("нарушение", "ihlal", "pozuntu", "խախտում"),
    ("violation", "no violation"): ("нарушения нет", "ihlal yok", "pozuntu yoxdur", "խախտում չկա"),
    ("violation", "undetermined"): (
        "не установлено",
        "belirlenemedi",
        "müəyyən edilməyib",
        "չի որոշվել",
    ),
    ("severity", "low"): ("низкая", "düşük", "aşağı", "ցածր"),
    ("severity", "medium"): ("средняя", "orta", "orta dərəcəli", "միջին"),
    ("severity", "high"): ("высокая", "yüksek", "yüksək", "բարձր"),
    ("severity", "critical"): ("критическая", "kritik", "kritik dərəcəli", "կրիտիկական"),
    ("role", "analyst"): ("аналитик", "analist", "analitik", "վերլուծաբան"),
    ("role", "duty officer"): (
        "дежурный офицер",
        "nöbetçi subay",
        "növbətçi zabit",
        "հերթապահ սպա",
    ),
    ("role", "head of contingent"): (
        "руководитель контингента",
        "birlik komutanı",
        "kontingentin rəhbəri",
        "զորակազմի ղեկավար",
    ),
    ("role", "liaison officer of the peacekeepers"): (
        "офицер связи миротворцев",
        "barış gücü irtibat subayı",
        "sülhməramlıların əlaqə zabiti",
        "խաղաղապահների կապի սպա",
    ),
    ("role", "liaison officer of a party"): (
        "офицер связи стороны",
        "taraf irtibat subayı",
        "tərəfin əlaqə zabiti",
        "կողմի կապի սպա",
    ),
    ("role", "auditor"): ("аудитор", "denetçi", "auditor", "աուդիտոր"),
    ("action", "read observations"): (
        "читать наблюдения",
        "gözlemleri okumak",
        "müşahidələri oxumaq",
        "կարդալ դիտարկումները",
    ),
    ("action", "read incidents"): (
        "читать инциденты",
        "olayları okumak",
        "hadisələri oxumaq",
        "կարդալ միջադեպերը",
    ),
    ("action", "read assessments"): (
        "читать оценки",
        "değerlendirmeleri okumak",
        "qiymətləndirmələri oxumaq",
        "կարդալ գնահատականները",
    ),
    ("action", "read findings"): (
        "читать заключения",
        "tespitleri okumak",
        "nəticələri oxumaq",
        "կարդալ եզրակացությունները",
    ),
    ("action", "read decisions"): (
        "читать решения",
        "kararları okumak",
        "qərarları oxumaq",
        "կարդալ որոշումները",
    ),
    ("action", "submit observations"): (
        "передавать наблюдения",
        "gözlem göndermek",
        "müşahidə göndərmək",
        "ներկայացնել դիտարկումներ",
    ),
    ("action", "submit an assessment"): (
        "представить оценку",
        "değerlendirme sunmak",
        "qiymətləndirmə təqdim etmək",
        "ներկայացնել գնահատական",
    ),
    ("action", "propose a decision"): (
        "предложить решение",
        "karar önermek",
        "qərar təklif etmək",
        "առաջարկել որոշում",
    ),
    ("action", "take an urgent decision"): (
        "принять срочное решение",
        "acil karar almak",
        "təcili qərar qəbul etmək",
        "ընդունել շտապ որոշում",
    ),
    ("action", "approve or reject a decision"): (
        "утвердить или отклонить решение",
        "kararı onaylamak veya reddetmek",
        "qərarı təsdiqləmək və ya rədd etmək",
        "հաստատել կամ մերժել որոշումը",
    ),
    ("action", "confirm or contest an urgent decision"): (
        "подтвердить или оспорить срочное решение",
        "acil kararı teyit etmek veya itiraz etmek",
        "təcili qərarı təsdiq etmək və ya etiraz etmək",
        "հաստատել կամ վիճարկել շտապ որոշումը",
    ),
    ("action", "manage users"): (
        "управлять пользователями",
        "kullanıcıları yönetmek",
        "istifadəçiləri idarə etmək",
        "կառավարել օգտատերերին",
    ),
    ("action", "manage the duty roster"): (
        "вести график дежурств",
        "nöbet çizelgesini yönetmek",
        "növbə cədvəlini idarə etmək",
        "վարել հերթապահությունների ժամանակացույցը",
    ),
    ("action", "read the handover report"): (
        "читать отчёт о смене",
        "devir teslim raporunu okumak",
        "növbə təhvil hesabatını oxumaq",
        "կարդալ հերթափոխի հաշվետվությունը",
    ),
    ("action", "read users"): (
        "читать список пользователей",
        "kullanıcıları okumak",
        "istifadəçiləri oxumaq",
        "կարդալ օգտատերերին",
    ),
    ("action", "read the duty roster"): (
        "читать график дежурств",
        "nöbet çizelgesini okumak",
        "növbə cədvəlini oxumaq",
        "կարդալ հերթապահությունների ժամանակացույցը",
    ),
    ("action", "verify the log"): (
        "проверять журнал",
        "kaydı doğrulamak",
        "jurnalı yoxlamaq",
        "ստուգել մատյանը",
    ),
    ("action", "read the log"): (
        "читать журнал",
        "kaydı okumak",
        "jurnalı oxumaq",
        "կարդալ մատյանը",
    ),
    ("action", "read releases"): (
        "читать выдачи",
        "paylaşımları okumak",
        "paylaşımları oxumaq",
        "կարդալ տրամադրումները",
    ),
    ("sensed by", "drone, daylight camera"): (
        "БПЛА, дневная камера",
        "İHA, gündüz kamerası",
        "PUA, gündüz kamerası",
        "ԱԹՍ, ցերեկային տեսախցիկ",
    ),
    ("sensed by", "drone, thermal camera"): (
        "БПЛА, тепловизор",
        "İHA, termal kamera",
        "PUA, termal kamera",
        "ԱԹՍ, ջերմային տեսախցիկ",
    ),
    ("sensed by", "fixed camera"): (
        "стационарная камера",
        "sabit kamera",
        "stasionar kamera",
        "անշարժ տեսախցիկ",
    ),
    ("sensed by", "observation post"): (
        "наблюдательный пост",
        "gözlem noktası",
        "müşahidə məntəqəsi",
        "դիտակետ",
    ),
    ("sensed by", "patrol, seen"): (
        "патруль, видел",
        "devriye, gördü",
        "patrul, gördü",
        "պարեկ, տեսել է",
    ),
    ("sensed by", "patrol, heard"): (
        "патруль, слышал",
        "devriye, duydu",
        "patrul, eşitdi",
        "պարեկ, լսել է",
    ),
    ("sensed by", "a party's complaint"): (
        "жалоба стороны",
        "tarafın şikâyeti",
        "tərəfin şikayəti",
        "կողմի բողոք",
    ),
    ("sensed by", "other"): ("другое", "diğer", "digər", "այլ"),
}


# Other messages of the words issue: msgid (or singular, plural) -> ru, tr, az, hy; plural
# forms as each catalog counts them (ru 3, az 2, tr 1, hy 1).
MESSAGES: dict[str | tuple[str, str], tuple[object, object, object, object]] = {
    "Entry {index} is not in a cosigned checkpoint yet: the newest covers entries 0 to "
    "{last}. Ask again after the next checkpoint.": (
        "Запись {index} ещё не вошла в подписанную обеими сторонами контрольную точку: "
        "последняя охватывает записи с 0 по {last}. Повторите запрос после следующей.",
        "{index} numaralı kayıt henüz ortak imzalı bir kontrol noktasında değil: en yenisi "
        "0-{last} kayıtlarını kapsıyor. Bir sonraki kontrol noktasından sonra yeniden sorun.",
        "{index} nömrəli yazı hələ birgə imzalanmış nəzarət nöqtəsinə daxil deyil: ən yenisi "
        "0-{last} yazılarını əhatə edir. Növbəti nəzarət nöqtəsindən sonra yenidən soruşun.",
        "{index} գրառումը դեռ համատեղ ստորագրված ստուգակետում չէ. վերջինը ներառում է "
        "0-ից {last} գրառումները։ Կրկին հարցրեք հաջորդ ստուգակետից հետո։",
    ),
    "--at {text} was read as a time of the mission's zone, {tz}": (
        "--at {text} прочитано как время часового пояса миссии, {tz}",
        "--at {text}, misyonun saat dilimine ({tz}) göre okundu",
        "--at {text} missiyanın saat qurşağının ({tz}) vaxtı kimi oxundu",
        "--at {text}-ը կարդացվել է որպես առաքելության ժամային գոտու ({tz}) ժամանակ",
    ),
    "Period: {period}; time zone {tz}; languages {langs}": (
        "Период: {period}; часовой пояс: {tz}; языки: {langs}",
        "Dönem: {period}; saat dilimi: {tz}; diller: {langs}",
        "Dövr: {period}; saat qurşağı: {tz}; dillər: {langs}",
        "Ժամանակաշրջան՝ {period}; ժամային գոտի՝ {tz}; լեզուներ՝ {langs}",
    ),
    "from {start} to {end}": (
        "с {start} по {end}",
        "{start} ile {end} arası",
        "{start} - {end}",
        "{start}-ից {end}",
    ),
    "from {start}, with no end set": (
        "с {start}, без установленного окончания",
        "{start} tarihinden itibaren, bitişi yok",
        "{start} tarixindən, sonu müəyyən edilməyib",
        "{start}-ից, առանց ավարտի",
    ),
    "a disputed place: a monitor's language names it in every form, separated by ' / ', "
    "as {other} does ({name})": (
        "спорное место: язык наблюдателей называет его во всех формах через ' / ', "
        "как {other} ({name})",
        "tartışmalı yer: gözlemcilerin dili onu tüm biçimleriyle, ' / ' ile ayırarak "
        "adlandırır, {other} dilinin yaptığı gibi ({name})",
        "mübahisəli yer: müşahidəçilərin dili onu bütün formaları ilə, ' / ' ilə ayıraraq "
        "adlandırır, {other} dilində olduğu kimi ({name})",
        "վիճելի վայր. դիտորդների լեզուն այն անվանում է բոլոր ձևերով՝ ' / '-ով "
        "բաժանված, ինչպես {other}-ը ({name})",
    ),
    "attribution": ("атрибуция", "sorumluluk", "məsuliyyət", "պատասխանատվություն"),
    "clauses": ("пункты", "maddeler", "bəndlər", "կետեր"),
    "remarks": ("примечания", "açıklamalar", "qeydlər", "դիտողություններ"),
    "severity": ("тяжесть", "ciddiyet", "ciddilik", "ծանրություն"),
    "violation": ("нарушение", "ihlal", "pozuntu", "խախտում"),
    "joint finding: {v}, clauses {c}, attribution {a}": (
        "совместное заключение: {v}, пункты {c}, атрибуция {a}",
        "ortak tespit: {v}, maddeler {c}, sorumluluk {a}",
        "birgə nəticə: {v}, bəndlər {c}, məsuliyyət {a}",
        "համատեղ եզրակացություն՝ {v}, կետեր {c}, պատասխանատվություն {a}",
    ),
    "{role}: belongs to no contingent or party; leave the affiliation empty": (
        "{role}: не относится ни к контингенту, ни к стороне; оставьте принадлежность пустой",
        "{role}: hiçbir birliğe veya tarafa bağlı değildir; bağlılığı boş bırakın",
        "{role}: heç bir kontingentə və ya tərəfə aid deyil; mənsubiyyəti boş saxlayın",
        "{role}. չի պատկանում որևէ զորակազմի կամ կողմի. պատկանելությունը թողեք դատարկ",
    ),
    "{role}: the affiliation is one of {choices}": (
        "{role}: принадлежность — одно из: {choices}",
        "{role}: bağlılık şunlardan biridir: {choices}",
        "{role}: mənsubiyyət bunlardan biridir: {choices}",
        "{role}. պատկանելությունը հետևյալներից մեկն է՝ {choices}",
    ),
    "{start} to {end}; {observations}; {corroboration}; status: {status}": (
        "{start} — {end}; {observations}; {corroboration}; статус: {status}",
        "{start} - {end}; {observations}; {corroboration}; durum: {status}",
        "{start} - {end}; {observations}; {corroboration}; status: {status}",
        "{start} - {end}; {observations}; {corroboration}; կարգավիճակ՝ {status}",
    ),
    ("{n} decision", "{n} decisions"): (
        ("{n} решение", "{n} решения", "{n} решений"),
        ("{n} karar",),
        ("{n} qərar", "{n} qərar"),
        ("{n} որոշում",),
    ),
    ("{n} incident", "{n} incidents"): (
        ("{n} инцидент", "{n} инцидента", "{n} инцидентов"),
        ("{n} olay",),
        ("{n} hadisə", "{n} hadisə"),
        ("{n} միջադեպ",),
    ),
    ("{n} incident in the period", "{n} incidents in the period"): (
        ("{n} инцидент за период", "{n} инцидента за период", "{n} инцидентов за период"),
        ("dönemde {n} olay",),
        ("dövrdə {n} hadisə", "dövrdə {n} hadisə"),
        ("ժամանակաշրջանում՝ {n} միջադեպ",),
    ),
    ("{n} observation", "{n} observations"): (
        ("{n} наблюдение", "{n} наблюдения", "{n} наблюдений"),
        ("{n} gözlem",),
        ("{n} müşahidə", "{n} müşahidə"),
        ("{n} դիտարկում",),
    ),
}


def main() -> None:
    for column, lang in enumerate(("ru", "tr", "az", "hy")):
        path = LOCALES / lang / "LC_MESSAGES" / "ceasefire.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang, domain="ceasefire")
        for (context, english), texts in LABELS.items():
            message = catalog.get(english, context=context)
            if message is not None and not message.string:
                message.string = texts[column]
        for msgid, translated in MESSAGES.items():
            message = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
            if message is not None and not (
                all(message.string) if isinstance(message.string, tuple) else message.string
            ):
                message.string = translated[column]  # type: ignore[assignment]
        with path.open("wb") as f:
            write_po(f, catalog, width=76, omit_header=False, no_location=True)


if __name__ == "__main__":
    main()
