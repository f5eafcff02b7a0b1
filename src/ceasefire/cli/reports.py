"""`ceasefire report daily|verify` and `ceasefire stats` (the library: ceasefire.reports)."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from ceasefire.center import Center
from ceasefire.cli import common
from ceasefire.cli.common import (
    DB_OPTION,
    LANG_OPTION,
    MISSION_OPTION,
    Format,
    console,
    console_err,
    print_json,
)
from ceasefire.cli.ledger import WITNESS_OPTION, witness_urls
from ceasefire.errors import CeasefireError, InputError, Problem
from ceasefire.i18n import _, current_language, language, ngettext
from ceasefire.ledger.checkpoint import SIGNATURE_TYPE_COSIGNATURE_V1, CosignatureVerifier
from ceasefire.ledger.keys import default_dir, load_cosigner, load_keys, origin_of, read_vkeys
from ceasefire.ledger.note import KeyFormatError, VerifierKey
from ceasefire.reports import daily, proof, signing, stats
from ceasefire.reports.scope import scope_for
from ceasefire.workflow.roles import get_user

app = typer.Typer(
    help="The daily report: made, signed by both heads, checked.", no_args_is_help=True
)


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            Problem(file="report", field="--date", reason=_("not a date such as 2021-02-01"))
        ) from None


@app.command("daily")
def report_daily(
    day: str = typer.Option(..., "--date", help="The report's date (its cut-off is that day)."),
    lang: str = LANG_OPTION,
    fmt: ReportFormat = typer.Option(ReportFormat.pdf, "--format"),
    out: Path = typer.Option(None, "--out", help="Default: daily-DATE-LANG.FORMAT here."),
    keys: Path = typer.Option(None, "--keys", help="Key directory (default: the mission's)."),
    sign_key: list[Path] = typer.Option(
        [], "--sign-key", help="A contingent's .skey (or its node's key directory); repeat."
    ),
    witness: list[str] = WITNESS_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Make the daily report, have both contingents sign it, log its hash, write it, its
    signature (FILE.sig) and the proof that it is in the log (FILE.proof.json)."""
    when = _day(day)
    language_ = lang or current_language()
    with common.center(db=db, mission=mission, keys=keys) as center:
        m, engine = center.mission, center.engine
        signers = [load_cosigner(path) for path in sign_key]
        folder = keys or center.settings.keys or default_dir(m.id)
        if folder.is_dir():
            ring = load_keys(folder, origin_of(m.id), m.contingent_ids())
            have = {s.name for s in signers}
            signers += [s for s in ring.cosigners.values() if s.name not in have]
        data = daily.render(engine, m, when, language_, fmt.value)
        note = signing.sign(m, when.isoformat(), language_, fmt.value, data, signers)
        stored = signing.store(engine, m, when.isoformat(), language_, fmt.value, data, note)
        path = out or Path(f"daily-{when.isoformat()}-{language_}.{fmt.value}")
        path.write_bytes(data)
        signature = path.with_name(path.name + ".sig")
        signature.write_text(note, encoding="utf-8")
        console.print(
            _(
                "{path}: signed by both contingents ({sig}); SHA-256 {sha}, ledger entry {index}"
            ).format(path=path, sig=signature, sha=stored.sha256, index=stored.ledger_index)
        )
        if stored.notices:
            console.print(
                ngettext(
                    "announced over the direct lines: {n} notice (ceasefire notices), sent by "
                    "the dispatcher of ceasefire serve",
                    "announced over the direct lines: {n} notices (ceasefire notices), sent by "
                    "the dispatcher of ceasefire serve",
                    len(stored.notices),
                ).format(n=len(stored.notices))
            )
        _write_proof(center, stored, path, witness_urls(m, witness))


def _write_proof(
    center: Center, stored: signing.SignedReport, path: Path, witnesses: dict[str, str]
) -> None:
    """Write the report's proof beside it, or say why not yet and how to get it later."""
    target = Path(proof.proof_name(str(path)))
    try:
        made = center.report_proof(stored, witnesses)
    except (CeasefireError, proof.NotYetProvenError) as error:
        console_err.print(
            _(
                "No proof that the report is in the log yet ({reason}); once a cosigned "
                "checkpoint covers it: ceasefire report proof {path}"
            ).format(reason=error, path=path)
        )
        return
    _save_proof(target, made)


@app.command("proof")
def report_proof(
    file: Path = typer.Argument(..., help="The report (PDF or HTML) as made."),
    out: Path = typer.Option(None, "--out", help="Default: FILE.proof.json."),
    keys: Path = typer.Option(None, "--keys", help="Key directory (default: the mission's)."),
    witness: list[str] = WITNESS_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Write the proof that a report is in the log: its ledger entry and an inclusion proof at
    a checkpoint cosigned by every contingent (made now if the log grew)."""
    if not file.is_file():
        raise InputError(Problem(file=str(file), field="", reason=_("no such file")))
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    with common.center(db=db, mission=mission, keys=keys) as center:
        stored = signing.find_report(center.engine, digest)
        if stored is None:
            raise InputError(
                Problem(
                    file=str(file),
                    field="sha256",
                    reason=_("no report with this SHA-256 ({sha}) was made here").format(
                        sha=digest
                    ),
                )
            )
        made = center.report_proof(stored, witness_urls(center.mission, witness))
    target = out or Path(proof.proof_name(str(file)))
    _save_proof(target, made)


@app.command("verify")
def report_verify(
    file: Path = typer.Argument(..., help="The report (PDF or HTML)."),
    signature: Path = typer.Option(None, "--signature", help="Default: FILE.sig."),
    proof_file: Path = typer.Option(
        None, "--proof", help="The proof that it is in the log. Default: FILE.proof.json."
    ),
    trusted_keys: Path = typer.Option(
        None,
        "--trusted-keys",
        help="Verifier keys (`ceasefire keys show`), obtained apart from the report.",
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Check a report offline: both contingents' signatures, its SHA-256, and (with its proof)
    that the center logged it: the entry's inclusion proof at a checkpoint cosigned by every
    contingent."""
    note_path = signature or file.with_name(file.name + ".sig")
    proof_path = proof_file or Path(proof.proof_name(str(file)))
    wanted = [file, *(p for p in (signature, proof_file) if p is not None)]
    if not note_path.is_file() and not proof_path.is_file():
        wanted.append(note_path)
    for path in wanted:
        if not path.is_file():
            raise InputError(Problem(file=str(path), field="", reason=_("no such file")))
    if trusted_keys is None:
        raise InputError(
            Problem(
                file="report",
                field="--trusted-keys",
                reason=_("give the contingents' verifier keys (ceasefire keys show)"),
            )
        )
    keys = read_vkeys(trusted_keys)
    verifiers = []
    for key in keys:
        try:
            if VerifierKey.parse(key).signature_type == SIGNATURE_TYPE_COSIGNATURE_V1:
                verifiers.append(CosignatureVerifier.from_vkey(key))
        except KeyFormatError as error:
            raise InputError(
                Problem(file=str(trusted_keys), field="", record=key[:40], reason=str(error))
            ) from None
    if not verifiers:
        raise InputError(
            Problem(file=str(trusted_keys), field="", reason=_("no contingent verifier key"))
        )
    data = file.read_bytes()
    note = note_path.read_text(encoding="utf-8") if note_path.is_file() else None
    if proof_path.is_file():
        result = proof.verify(data, proof_path.read_bytes(), keys, note)
    else:
        assert note is not None
        result = {**signing.verify(data, note, verifiers), "ledger_index": None}
    if fmt is Format.json:
        print_json(result)
        return
    console.print(
        "✓ "
        + _("{file}: SHA-256 {sha} as signed by {names}").format(
            file=file, sha=result["sha256"], names=", ".join(result["signed_by"])
        )
    )
    if result["ledger_index"] is None:
        console_err.print(
            _(
                "Not checked that the center logged it: no proof ({path}); get it with "
                "ceasefire report proof, or GET /api/v1/reports/ID/proof."
            ).format(path=proof_path)
        )
        return
    console.print(
        "✓ "
        + _(
            "in the log: entry {index}, proven in the checkpoint of {size} entries signed by "
            "{names}"
        ).format(
            index=result["ledger_index"],
            size=result["log_size"],
            names=", ".join(result["checkpoint_signed_by"]),
        )
    )


class Dimension(StrEnum):
    day = "day"
    area = "area"
    category = "category"
    corroboration = "corroboration"
    finding = "finding"
    attribution = "attribution"


class StatsFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


def stats_command(
    by: Dimension = typer.Option(Dimension.category, "--by"),
    since: str = common.SINCE_OPTION,
    until: str = common.UNTIL_OPTION,
    chart: Path = typer.Option(None, "--chart", help="Also draw the table as a PNG chart."),
    as_user: str = typer.Option(None, "--as-user", help="Count what this user may see."),
    fmt: StatsFormat = typer.Option(StatsFormat.text, "--format"),
    lang: str = LANG_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Incidents and candidate violations by day, area, category, corroboration, joint finding
    or attribution."""
    center = common.center(db=db, mission=mission)
    m, engine = center.mission, center.engine
    tz = m.config.timezone
    user = None
    if as_user is not None:
        with engine.connect() as conn:
            user = get_user(conn, as_user)
    found = stats.facts(
        engine,
        m,
        *common.period(since, until, tz),
        scope_for(engine, m, user),
    )
    language_ = lang or current_language()
    rows = stats.table(m, found, by.value, language_)
    if chart is not None:
        with language(language_):
            title = _("Incidents by {dimension}").format(dimension=by.value)
        chart.write_bytes(stats.chart_png(rows, title))
    if fmt is StatsFormat.json:
        print_json({"by": by.value, "rows": rows, "incidents": len(found)})
    elif fmt is StatsFormat.csv:
        writer = csv.DictWriter(
            sys.stdout, ["key", "label", "incidents", "violations"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    else:
        with language(language_):
            console.print(f"{by.value:<40} {_('incidents'):>10} {_('violations'):>10}")
            for row in rows:
                console.print(
                    f"{row['label'][:40]:<40} {row['incidents']:>10} {row['violations']:>10}"
                )
            console.print(
                f"{_('total'):<40} {len(found):>10} {sum(f.violation for f in found):>10}"
            )
    if chart is not None:
        console_err.print(_("chart written to {path}").format(path=chart))


def _save_proof(target: Path, made: dict[str, Any]) -> None:
    target.write_text(json.dumps(made, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(
        _("{path}: the report's ledger entry, proven in the checkpoint of {size} entries").format(
            path=target, size=made["log_size"]
        )
    )
