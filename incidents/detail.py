"""An incident's full record as Markdown for the dashboard's detail panels, built from
:func:`incidents.render.record_model` (the same story the map's popup tells).

Every value from the data goes through :func:`incidents.safety.escape_markdown`; links are made only from URLs that
:func:`incidents.safety.safe_url` accepts. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from .errors import Problem
from .model import Dataset
from .render import record_model
from .safety import escape_markdown, safe_url

# Characters kept as they are in a link target; the rest (parentheses, quotes, angle brackets, non-ASCII) are
# percent-encoded, so that the target cannot end the Markdown link early.
_URL_SAFE: Final = "/:?#[]@!$&'*+,;=%-._~"


def markdown_link(url: object, text: object) -> str:
    """``[text](url)`` when :func:`safe_url` accepts ``url``; the escaped text alone otherwise."""
    label = escape_markdown(text)
    href = safe_url(url)
    if href is None:
        return label
    return f"[{label}]({quote(href, safe=_URL_SAFE)})"


def incident_markdown(dataset: Dataset, row: int, *, status: str, titles: Mapping[str, str]) -> str:
    """The whole record of incident ``row`` of ``dataset`` as Markdown, with the ``status`` shown (as of the
    filter's date); ``titles`` name the related incidents."""
    return record_markdown(record_model(dataset.properties(row), status=status, titles=titles))


def record_markdown(record: Mapping[str, Any]) -> str:
    """The whole story of one incident (a record model) as Markdown: title, status and category, when and where,
    perpetrator, casualties, description, status history, each claim, sources as links, related incidents, tags
    and id."""
    e = escape_markdown
    lines = [f"##### {e(record['title'])}", f"**{e(record['status_label'])}** · {e(record['category_label'])}", ""]
    for label, key in (("When", "when"), ("Where", "where"), ("Perpetrator", "perpetrator"),
                       ("Casualties", "casualties")):
        if record.get(key):
            lines.append(f"**{label}:** {e(record[key])}  ")
    if record.get("description"):
        lines += ["", e(record["description"])]
    if record.get("history"):
        lines += ["", "**Status history**", ""]
        lines += [f"{i}. {e(entry)}" for i, entry in enumerate(record["history"], start=1)]
    if record.get("claims"):
        lines += ["", "**Claims**", ""]
        for claim in record["claims"]:
            line = f"- **{e(claim['by'])}** {e(claim['stance'])}"
            if claim.get("date"):
                line += f" ({e(claim['date'])})"
            if claim.get("text"):
                line += f": “{e(claim['text'])}”"
            if claim.get("source"):
                line += f" — _{e(claim['source'])}_"
            lines.append(line)
    if record.get("sources"):
        lines += ["", "**Sources**", ""]
        for i, source in enumerate(record["sources"], start=1):
            line = f"{i}. {markdown_link(source.get('url'), source['title'])}"
            if source.get("details"):
                line += f" — {e(source['details'])}"
            lines.append(line)
    if record.get("related"):
        lines += ["", "**Related**", ""]
        lines += [f"- {e(entry)}" for entry in record["related"]]
    if record.get("tags"):
        lines += ["", f"**Tags:** {e(', '.join(record['tags']))}"]
    lines += ["", f"ID: {e(record['id'])}"]
    return "\n".join(lines)


def problems_markdown(problems: Sequence[Problem], *, limit: int = 30) -> str:
    """Problems as a Markdown list (each escaped: messages repeat values from the file), at most ``limit`` of
    them, errors first, then a line saying how many more there are."""
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    lines = [f"- {escape_markdown(problem)}" for problem in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"- … and {len(ordered) - limit} more")
    return "\n".join(lines)
