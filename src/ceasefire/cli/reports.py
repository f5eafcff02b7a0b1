"""`ceasefire report daily|verify` and `ceasefire stats` (the library: ceasefire.reports)."""

from __future__ import annotations

import csv
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

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
from ceasefire.errors import InputError, Problem
from ceasefire.i18n import _, current_language, language
from ceasefire.ledger.checkpoint import SIGNATURE_TYPE_COSIGNATURE_V1, CosignatureVerifier
from ceasefire.ledger.keys import default_dir, load_cosigner, load_keys, origin_of, read_vkeys
from ceasefire.ledger.note import KeyFormatError, VerifierKey
from ceasefire.mission import load_mission
from ceasefire.reports import daily, signing, stats
from ceasefire.reports.scope import scope_for
from ceasefire.timeutil import parse_time
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
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Make the daily report, have both contingents sign it, log its hash, write it and its
    signature (FILE.sig)."""
    m = load_mission(mission)
    when = _day(day)
    language_ = lang or current_language()
    engine = common.database(db)
    signers = [load_cosigner(path) for path in sign_key]
    folder = keys or default_dir(m.id)
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
        _("{path}: signed by both contingents ({sig}); SHA-256 {sha}, ledger entry {index}").format(
            path=path, sig=signature, sha=stored.sha256, index=stored.ledger_index
        )
    )


@app.command("verify")
def report_verify(
    file: Path = typer.Argument(..., help="The report (PDF or HTML)."),
    signature: Path = typer.Option(None, "--signature", help="Default: FILE.sig."),
    trusted_keys: Path = typer.Option(
        None,
        "--trusted-keys",
        help="Verifier keys (`ceasefire keys show`), obtained apart from the report.",
    ),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """Check a report offline: both contingents' signatures, and its SHA-256."""
    note_path = signature or file.with_name(file.name + ".sig")
    for path in (file, note_path):
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
    verifiers = []
    for key in read_vkeys(trusted_keys):
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
    result = signing.verify(file.read_bytes(), note_path.read_text(encoding="utf-8"), verifiers)
    if fmt is Format.json:
        print_json(result)
        return
    console.print(
        "✓ "
        + _("{file}: SHA-256 {sha} as signed by {names}").format(
            file=file, sha=result["sha256"], names=", ".join(result["signed_by"])
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
    since: str = typer.Option(None, "--since", help="ISO 8601; without offset: mission time."),
    until: str = typer.Option(None, "--until", help="ISO 8601; without offset: mission time."),
    chart: Path = typer.Option(None, "--chart", help="Also draw the table as a PNG chart."),
    as_user: str = typer.Option(None, "--as-user", help="Count what this user may see."),
    fmt: StatsFormat = typer.Option(StatsFormat.text, "--format"),
    lang: str = LANG_OPTION,
    db: str = DB_OPTION,
    mission: str = MISSION_OPTION,
) -> None:
    """Incidents and candidate violations by day, area, category, corroboration, joint finding
    or attribution."""
    m = load_mission(mission)
    tz = m.config.timezone
    engine = common.database(db)
    user = None
    if as_user is not None:
        with engine.connect() as conn:
            user = get_user(conn, as_user)
    found = stats.facts(
        engine,
        m,
        parse_time(since, tz, field="--since") if since else None,
        parse_time(until, tz, field="--until") if until else None,
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
