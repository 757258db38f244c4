"""The doctor's report: what a server offers (features) and what it exposes (findings), as text, HTML and JSON."""

from __future__ import annotations

import html
import json
import textwrap
from dataclasses import asdict, dataclass, field

#: Severities, least first.
SEVERITIES = ("info", "low", "medium", "high")
_COLOURS = {"info": "#546e7a", "low": "#1565c0", "medium": "#ef6c00", "high": "#c62828"}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: how serious, what shows it, and the line to change."""

    id: str               # stable name, e.g. "ari-plain-http"
    severity: str         # one of SEVERITIES
    title: str
    evidence: str         # what Asterisk said, and where (the command or request)
    change: str = ""      # the file, section and line to change; "" when nothing needs to change

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")


@dataclass(frozen=True)
class Feature:
    """One kit feature on this server: what it needs, whether this server has it, and what to do if not."""

    name: str
    used_by: str          # the kit's calls and notebooks that need it
    needs: str            # versions and modules
    here: bool | None     # None: the doctor could not tell
    evidence: str = ""
    to_do: str = ""


@dataclass(frozen=True)
class Report:
    """What `vicifast-kit doctor` and `vk.doctor(ari, ami)` return: a table in Jupyter, text in a terminal, JSON."""

    server: dict                                   # url, version, ari_user, ami, modules
    features: tuple[Feature, ...]
    findings: tuple[Finding, ...]
    not_checked: tuple[str, ...] = field(default=())   # checks that could not be made, each with why

    @property
    def highest(self) -> str | None:
        """The most serious severity found, or None when there is no finding."""
        ranks = [SEVERITIES.index(f.severity) for f in self.findings]
        return SEVERITIES[max(ranks)] if ranks else None

    @property
    def exit_code(self) -> int:
        """1 when a high-severity finding is present, else 0 (what `vicifast-kit doctor` exits with)."""
        return 1 if self.highest == "high" else 0

    def by_id(self, finding_id: str) -> list[Finding]:
        """The findings of one kind ("ari-plain-http"), in report order."""
        return [f for f in self.findings if f.id == finding_id]

    def feature(self, name: str) -> Feature:
        """The feature of that name ("WebSocket media"); KeyError naming the known ones otherwise."""
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(f"no feature {name!r}; the report has: {', '.join(f.name for f in self.features)}")

    # --- JSON ------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        """The report as plain data (what to_json writes), with the exit code."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON (`vicifast-kit doctor --json`); Report.from_json reads it back."""
        return json.dumps(self.as_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "Report":
        """A report from what to_json wrote."""
        data = json.loads(text)
        return cls(server=data["server"], features=tuple(Feature(**f) for f in data["features"]),
                   findings=tuple(Finding(**f) for f in data["findings"]), not_checked=tuple(data["not_checked"]))

    # --- text ------------------------------------------------------------------------------
    def headline(self) -> str:
        """One line: which Asterisk, where, as whom."""
        s = self.server
        ami = f"; AMI {s['ami']}" if s.get("ami") else "; no AMI"
        return f"Asterisk {s.get('version') or '(version unknown)'} at {s.get('url')} (ARI user {s.get('ari_user')}{ami})"

    def verdict(self) -> str:
        """The last line: the most serious finding and the exit code."""
        if self.highest == "high":
            count = len([f for f in self.findings if f.severity == "high"])
            return f"{count} high-severity finding{'s' if count > 1 else ''}: exit code 1."
        return f"No high-severity finding (highest: {self.highest or 'none'}): exit code 0."

    def __str__(self) -> str:
        lines = [self.headline(), "", "What it offers"]
        rows = [["feature", "here", "needs", "what to do"]]
        for f in self.features:
            to_do = f.to_do + (f" (without it: {f.used_by})" if f.here is False else "")
            rows.append([f.name, _here(f.here), f.needs, to_do])
        lines += _table(rows, (22, 7, 42, 36))
        lines += ["", "What it exposes"]
        for f in sorted(self.findings, key=lambda f: -SEVERITIES.index(f.severity)):
            lines += _wrapped(f"{f.severity.upper():7} {f.title}", 2, 10)
            lines += _wrapped(f"evidence: {f.evidence}", 10)
            if f.change:
                lines += _wrapped(f"change: {f.change}", 10)
        if self.not_checked:
            lines += ["", "Not checked"]
            for item in self.not_checked:
                lines += _wrapped(f"- {item}", 2, 4)
        lines += ["", self.verdict()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<doctor.Report {self.headline()}: {len(self.findings)} findings, highest {self.highest}>"

    # --- HTML ------------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """Jupyter's view: the headline, a feature table, a findings table, what was not checked."""
        e = html.escape
        cell = 'style="text-align:left;vertical-align:top;padding:2px 8px;overflow-wrap:anywhere;min-width:4em"'
        features = "".join(
            f"<tr><td {cell}>{e(f.name)}</td><td {cell}>{e(f.needs)}</td><td {cell}>{_here_html(f.here)}</td>"
            f"<td {cell}>{e(f.to_do)}</td><td {cell}>{e(f.used_by)}</td></tr>" for f in self.features)
        ordered = sorted(self.findings, key=lambda f: -SEVERITIES.index(f.severity))
        findings = "".join(
            f"<tr><td {cell}><b style=\"color:{_COLOURS[f.severity]}\">{e(f.severity)}</b></td><td {cell}>{e(f.title)}"
            f"</td><td {cell}>{e(f.evidence)}</td><td {cell}><code style=\"white-space:normal\">{e(f.change)}</code></td>"
            "</tr>" for f in ordered)
        unchecked = "".join(f"<li>{e(item)}</li>" for item in self.not_checked)
        return (f"<div><p><b>{e(self.headline())}</b></p><p>What it offers</p>"
                f"{_html_table(('feature', 'needs', 'here', 'what to do', 'used by'), features, cell)}"
                f"<p>What it exposes</p>{_html_table(('severity', 'finding', 'evidence', 'line to change'), findings, cell)}"
                + (f"<p>Not checked</p><ul>{unchecked}</ul>" if unchecked else "")
                + f"<p>{e(self.verdict())}</p></div>")


def _here(here: bool | None) -> str:
    """yes / no / unknown."""
    return "unknown" if here is None else "yes" if here else "no"


def _html_table(names: tuple[str, ...], rows: str, cell: str) -> str:
    """A table with a header row of names over rows (already <tr> elements)."""
    head = "".join(f"<th {cell}>{name}</th>" for name in names)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _here_html(here: bool | None) -> str:
    """yes / no / unknown, coloured."""
    colour = "#546e7a" if here is None else "#2e7d32" if here else "#c62828"
    return f'<b style="color:{colour}">{_here(here)}</b>'


def _wrapped(text: str, indent: int, then: int | None = None, width: int = 110) -> list[str]:
    """text wrapped to width, its first line indented by indent, the next ones by then (default indent + 2)."""
    return textwrap.wrap(text, width=width, initial_indent=" " * indent, subsequent_indent=" " * (then or indent + 2),
                         break_long_words=False, break_on_hyphens=False)


def _table(rows: list[list[str]], widths: tuple[int, ...], indent: int = 2) -> list[str]:
    """Rows as columns of those widths, each cell wrapped within its column."""
    lines = []
    for row in rows:
        cells = [textwrap.wrap(cell, width, break_on_hyphens=False) or [""] for cell, width in zip(row, widths)]
        for i in range(max(len(cell) for cell in cells)):
            parts = [(cell[i] if i < len(cell) else "").ljust(width) for cell, width in zip(cells, widths)]
            lines.append((" " * indent + "  ".join(parts)).rstrip())
    return lines
