"""The one escaping path and the link gate: exact outputs, and proof in a real JavaScript engine (Node.js) that
folium's popup and tooltip templates cannot be broken out of once text went through :func:`escape_html`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import folium
import pytest

from incidents.safety import MAX_URL_LENGTH, escape_html, label_html, safe_link_html, safe_url, script_json, url_problem

LONG = "<" * 100_000

# payload -> exact escape_html output
ESCAPES: list[tuple[object, str]] = [
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("</script><script>alert(1)</script>", "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("${alert(1)}", "&#x24;&#x7B;alert(1)&#x7D;"),
    ("`;alert(1);`", "&#x60;;alert(1);&#x60;"),
    ("\\`;alert(1);//", "&#x5C;&#x60;;alert(1);//"),
    ("\\\\`;alert(1);//", "&#x5C;&#x5C;&#x60;;alert(1);//"),
    ("\\${alert(1)}", "&#x5C;&#x24;&#x7B;alert(1)&#x7D;"),
    ("{{ 7*7 }}{% raw %}", "&#x7B;&#x7B; 7*7 &#x7D;&#x7D;&#x7B;% raw %&#x7D;"),
    ("a\u2028b\u2029c", "a&#x2028;b&#x2029;c"),
    ('" onmouseover="alert(1)', "&quot; onmouseover=&quot;alert(1)"),
    ("' onmouseover='alert(1)", "&#x27; onmouseover=&#x27;alert(1)"),
    ("&lt;script&gt;", "&amp;lt;script&amp;gt;"),
    ("javascript:alert(1)", "javascript:alert(1)"),
    ("هجوم كيميائي على خان شيخون", "هجوم كيميائي على خان شيخون"),
    ("line one\nline two\r\n", "line one\nline two\r\n"),
    # bidi overrides and isolates left open are closed at the end; balanced ones are left alone
    ("\u202eexe.txt", "\u202eexe.txt\u202c"),
    ("\u2067abc", "\u2067abc\u2069"),
    ("\u202bx\u2066y", "\u202bx\u2066y\u2069\u202c"),
    ("\u202eab\u202c", "\u202eab\u202c"),
    ("\u2066a\u202eb\u2069", "\u2066a\u202eb\u2069"),
    ("\u202c\u2069stray closers", "\u202c\u2069stray closers"),
    # NUL and lone surrogates are not text (a lone surrogate cannot even be sent to the browser)
    ("a\x00b\ud800c\udfffd", "a\ufffdb\ufffdc\ufffdd"),
    (42, "42"),
    (None, "None"),
    (LONG, "&lt;" * 100_000),
]


@pytest.mark.parametrize(("payload", "expected"), ESCAPES)
def test_escape_html_exact_output(payload: object, expected: str) -> None:
    assert escape_html(payload) == expected


@pytest.mark.parametrize(("payload", "expected"), ESCAPES)
def test_escaped_text_has_nothing_that_starts_markup_or_ends_a_template_literal(payload: object, expected: str) -> None:
    escaped = escape_html(payload)
    assert not set("<>\"'`$\\{}\u2028\u2029\x00") & set(escaped)
    escaped.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("x_reviewer", "x_reviewer"),
        ("x_<img src=x onerror=alert(1)>", "x_&lt;img src=x onerror=alert(1)&gt;"),
        ("x_${alert(1)}", "x_&#x24;&#x7B;alert(1)&#x7D;"),
        ("x_line\nbreak\t\x00and\x85more", "x_line break and more"),
        ("  x_padded  ", "x_padded"),
        ("x_" + "a" * 200, "x_" + "a" * 77 + "…"),
        ("x_\u202eevil", "x_\u202eevil\u202c"),
        (7, "7"),
    ],
)
def test_label_html_makes_keys_one_escaped_bounded_line(key: object, expected: str) -> None:
    assert label_html(key) == expected


def test_label_html_length_is_configurable() -> None:
    assert label_html("x_<long key>", max_length=6) == "x_&lt;lo…"


SAFE_URLS = [
    "https://example.org",
    "http://example.org/path?q=1&r=2#frag",
    "HTTPS://EXAMPLE.ORG/A",
    "https://example.org:8443/x",
    "https://[2001:db8::1]/x",
    "https://192.0.2.1/report.pdf",
    "https://xn--pple-43d.com/",  # punycode is left alone
    "https://sub_domain.example.org/",
    'https://example.org/"><script>alert(1)</script>',  # payloads in the path are text: escaped where shown
    "https://example.org/?q=${alert(1)}&b=`x`",
    "https://example.org/وثيقة",
]


@pytest.mark.parametrize("url", SAFE_URLS)
def test_safe_url_accepts_http_and_https_with_a_host(url: str) -> None:
    assert url_problem(url) is None
    assert safe_url(url) == url


def test_safe_url_gives_non_ascii_hosts_in_punycode() -> None:
    # a Cyrillic "а" in "apple": the link points at the punycode host, so the look-alike cannot pass for apple.com
    assert safe_url("https://аpple.com/login?x=1#y") == "https://xn--pple-43d.com/login?x=1#y"
    assert safe_url("https://bücher.example:8080/") == "https://xn--bcher-kva.example:8080/"
    # full-width letters, read as browsers read them
    assert safe_url("https://ｅｘａｍｐｌｅ.org/") == "https://example.org/"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("javascript:alert(1)", "uses the scheme 'javascript': links must start with http:// or https://"),
        ("JaVaScRiPt:alert(1)", "uses the scheme 'javascript': links must start with http:// or https://"),
        ("java\tscript:alert(1)", "contains the control character U+0009 at position 5"),
        ("java\nscript:alert(1)", "contains the control character U+000A at position 5"),
        ("\x01javascript:alert(1)", "contains the control character U+0001 at position 1"),
        ("javascript\u0085:alert(1)", "contains the control character U+0085 at position 11"),
        ("data:text/html,<script>alert(1)</script>", "uses the scheme 'data': links must start with http:// or "
                                                     "https://"),
        ("file:///etc/passwd", "uses the scheme 'file': links must start with http:// or https://"),
        ("vbscript:msgbox(1)", "uses the scheme 'vbscript': links must start with http:// or https://"),
        ("ftp://example.org/x", "uses the scheme 'ftp': links must start with http:// or https://"),
        ("//evil.example/x", "has no scheme: write it in full, starting with https://"),
        ("example.org/x", "has no scheme: links must start with http:// or https://"),
        ("jav&#x09;ascript:alert(1)", "has no scheme: links must start with http:// or https://"),
        ("https:evil.example", "must start with https:// followed by the host"),
        ("https:/evil.example", "must start with https:// followed by the host"),
        ("https://user:secret@evil.example/", "has a user name or password before '@' (a way to disguise the real "
                                             "host): remove it"),
        ("https://trusted.example@evil.example/", "has a user name or password before '@' (a way to disguise the "
                                                  "real host): remove it"),
        ("https://@evil.example/", "has a user name or password before '@' (a way to disguise the real host): "
                                   "remove it"),
        ("https://evil.example\\@trusted.example/", "contains a backslash at position 21, which browsers read as '/'"),
        ("https:\\\\evil.example", "contains a backslash at position 7, which browsers read as '/'"),
        ("https://ex\u200bample.org", "contains the invisible formatting character U+200B (ZERO WIDTH SPACE) at "
                                      "position 11"),
        ("https://example.org/\u202egnp.exe", "contains the invisible formatting character U+202E (RIGHT-TO-LEFT "
                                               "OVERRIDE) at position 21"),
        ("https://example.org/\u2066", "contains the invisible formatting character U+2066 (LEFT-TO-RIGHT ISOLATE) at "
                                        "position 21"),
        ("https://exa\u00admple.org", "contains the invisible formatting character U+00AD (SOFT HYPHEN) at position "
                                      "12"),
        (" https://example.org", "contains a blank at position 1: write spaces as %20"),
        ("https://example.org/a b", "contains a blank at position 22: write spaces as %20"),
        ("https://example.org/\u00a0", "contains a blank at position 21: write spaces as %20"),
        ("https://example.org/\u2028", "contains a blank at position 21: write spaces as %20"),
        ("http://", "has no host"),
        ("https://:443/x", "has no host"),
        ("https://example.org:99999/", "has an invalid port"),
        ("https://example.org:port/", "has an invalid port"),
        ("https://[::1/", "cannot be read as a URL (Invalid IPv6 URL)"),
        ("https://%65vil.example/", "has the host '%65vil.example', with characters a host name cannot have"),
        ("https://evil.example!/", "has the host 'evil.example!', with characters a host name cannot have"),
        ("https://" + "a" * 64 + "é.org/", f"has the host '{'a' * 64}é.org', which is not a valid international "
                                           "domain name"),
        ("https://example.org/" + "a" * MAX_URL_LENGTH, "is 2068 characters long, more than the 2048 accepted for a "
                                                        "link"),
        ("", "is empty"),
        ("   ", "is empty"),
        (None, "is not text"),
        (["https://example.org"], "is not text"),
    ],
)
def test_url_problem_names_why_a_url_is_refused(url: object, problem: str) -> None:
    assert url_problem(url) == problem
    assert safe_url(url) is None


@pytest.mark.parametrize(
    ("url", "text", "expected"),
    [
        ("https://example.org/r?a=1&b=2", "Report", '<a href="https://example.org/r?a=1&amp;b=2" target="_blank" '
                                                    'rel="noopener noreferrer">Report</a>'),
        ('https://example.org/"><script>alert(1)</script>', "<b>Report</b>",
         '<a href="https://example.org/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" target="_blank" '
         'rel="noopener noreferrer">&lt;b&gt;Report&lt;/b&gt;</a>'),
        ("https://example.org/?q=${x}", "`${alert(1)}`", '<a href="https://example.org/?q=&#x24;&#x7B;x&#x7D;" '
                                                        'target="_blank" rel="noopener noreferrer">&#x60;&#x24;&#x7B;'
                                                        'alert(1)&#x7D;&#x60;</a>'),
        ("https://аpple.com/", "Apple", '<a href="https://xn--pple-43d.com/" target="_blank" rel="noopener '
                                        'noreferrer">Apple</a>'),
        ("https://example.org/x", None, '<a href="https://example.org/x" target="_blank" rel="noopener noreferrer">'
                                        "https://example.org/x</a>"),
        ("https://example.org/x", "  ", '<a href="https://example.org/x" target="_blank" rel="noopener noreferrer">'
                                        "https://example.org/x</a>"),
        # refused URLs give plain, escaped text and never an <a>
        ("javascript:alert(1)", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("JaVaScRiPt:alert(1)", None, "JaVaScRiPt:alert(1)"),
        ("data:text/html,<script>alert(1)</script>", None, "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("//evil.example", "Report", "Report"),
        (None, "Report", "Report"),
        (None, None, ""),
        (42, None, "42"),
    ],
)
def test_safe_link_html(url: object, text: object, expected: str) -> None:
    assert safe_link_html(url, text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"title": "</script><script>alert(1)</script>"},
         '{"title":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"}'),
        (["<!--", "-->", "&amp;"], '["\\u003c!--","--\\u003e","\\u0026amp;"]'),
        ("`${alert(1)}`", '"\\u0060\\u0024{alert(1)}\\u0060"'),
        ("a\u2028b\u2029c", '"a\\u2028b\\u2029c"'),
        ("\\`", '"\\\\\\u0060"'),
        ({"<key>": 1.5, "n": None, "ok": True}, '{"\\u003ckey\\u003e":1.5,"n":null,"ok":true}'),
        ("cut \ud83d", '"cut \\ud83d"'),
        ("هجوم", '"هجوم"'),
    ],
)
def test_script_json_exact_output(value: Any, expected: str) -> None:
    assert script_json(value) == expected
    assert json.loads(expected) == value


def test_script_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        script_json({"x": float("nan")})


# -- proof in a JavaScript engine --------------------------------------------------------------------------------

# Records every string handed to L (Leaflet) and $ (jQuery): what the browser would turn into popup and tooltip
# HTML. Callbacks (lazy popups' once('click', …)) are called at once.
NODE_PRELUDE = r"""
"use strict";
const recorded = [];
function stub(name) {
  return new Proxy(function () {}, {
    get(target, property) {
      if (property === Symbol.toPrimitive) return () => name;
      return stub(name + "." + String(property));
    },
    apply(target, self, args) {
      for (const arg of args) {
        if (typeof arg === "string") recorded.push({ call: name, text: arg });
        if (typeof arg === "function") arg();
      }
      return stub(name + "()");
    },
    construct() { return stub("new " + name); },
  });
}
globalThis.window = globalThis;
globalThis.parent = globalThis;
globalThis.document = stub("document");
globalThis.L = stub("L");
globalThis.$ = (html) => { recorded.push({ call: "$", text: html }); return [{ html }]; };
process.on("exit", () => {
  // synchronous: process.stdout.write to a pipe may not be flushed before the process ends
  require("fs").writeSync(1, JSON.stringify({ recorded, pwned: globalThis.__pwned ?? null }));
});
"""

MAP_PAYLOADS = [
    "<img src=x onerror=globalThis.__pwned=1>",
    "</script><script>globalThis.__pwned=2</script>",
    "${globalThis.__pwned=3}",
    "`;globalThis.__pwned=4;`",
    "\\`;globalThis.__pwned=5;//",
    "\\\\`;globalThis.__pwned=6;//",
    "\\${globalThis.__pwned=7}",
    "{{ 7*7 }}{% raw %}",
    "a\u2028b\u2029c;globalThis.__pwned=8",
    '" onmouseover="globalThis.__pwned=9',
    "\u202egnp.exe",
    "x\\",
    "\\u0060${globalThis.__pwned=10}",
    "line one\nline two",
    "<" * 5000 + "${globalThis.__pwned=11}" * 200,
]


def run_map_script(html: str, tmp_path: Path) -> dict[str, Any]:
    """Run the map's inline script the way a browser would cut it out of the page, under Node.js."""
    node = shutil.which("node")
    assert node is not None, "Node.js must be installed to run this test (apt-get install nodejs)"
    body = html[html.index("</body>") :]
    start = body.index("<script>") + len("<script>")
    end = re.search(r"</script[\s/>]", body[start:], re.I)
    assert end is not None
    script = tmp_path / "map.js"
    script.write_text(NODE_PRELUDE + body[start : start + end.start()], encoding="utf-8")
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def payload_map(texts: list[str], *, escape: bool) -> str:
    """A folium map with each text in a Marker(popup=str, tooltip=str), a Popup, a lazy Popup and a Tooltip."""
    shown = [escape_html(t) if escape else t for t in texts]
    world = folium.Map(location=[35, 36], zoom_start=6, tiles=None)
    for i, text in enumerate(shown):
        folium.Marker([35, 36 + i / 100], popup=text, tooltip=text).add_to(world)
        folium.Marker([35.5, 36 + i / 100], popup=folium.Popup(text), tooltip=folium.Tooltip(text)).add_to(world)
        folium.Marker([36, 36 + i / 100], popup=folium.Popup(text, lazy=True)).add_to(world)
    html: str = world.get_root().render()
    return html


def popup_texts(recorded: list[dict[str, str]]) -> list[str]:
    texts = []
    for entry in recorded:
        if entry["call"] == "$":
            match = re.fullmatch(r'<div id="html_[0-9a-f]+" style="width: 100\.0%; height: 100\.0%;">(.*)</div>',
                                 entry["text"], re.S)
            assert match is not None, entry["text"][:200]
            texts.append(match.group(1))
    return texts


def tooltip_texts(recorded: list[dict[str, str]]) -> list[str]:
    texts = []
    for entry in recorded:
        if entry["call"].endswith(".bindTooltip"):
            match = re.fullmatch(r"<div>\n\s*(.*?)\n\s*</div>", entry["text"], re.S)
            assert match is not None, entry["text"][:200]
            texts.append(match.group(1))
    return texts


def test_escaped_popups_and_tooltips_reach_leaflet_exactly_as_escaped_and_nothing_runs(tmp_path: Path) -> None:
    html = payload_map(MAP_PAYLOADS, escape=True)
    output = run_map_script(html, tmp_path)
    assert output["pwned"] is None
    escaped = [escape_html(p) for p in MAP_PAYLOADS]
    # Marker(popup=str), Popup(...) and a lazy Popup per payload; folium turns newlines into spaces in popups
    assert popup_texts(output["recorded"]) == [e.replace("\n", " ") for e in escaped for _ in range(3)]
    # Marker(tooltip=str) and Tooltip(...) per payload
    assert tooltip_texts(output["recorded"]) == [e for e in escaped for _ in range(2)]


def test_the_node_harness_catches_a_breakout_of_unescaped_text(tmp_path: Path) -> None:
    """The same map with raw text: ${…} runs inside folium's template literals (html.escape would not stop it)."""
    output = run_map_script(payload_map(["${globalThis.__pwned='template literal'}"], escape=False), tmp_path)
    assert output["pwned"] == "template literal"
    # two backslashes and a backtick get past folium's own backtick escaping and end the literal
    world = folium.Map(location=[35, 36], zoom_start=6, tiles=None)
    folium.Marker([35, 36], popup="\\\\`);globalThis.__pwned='backtick';//").add_to(world)
    output = run_map_script(world.get_root().render(), tmp_path)
    assert output["pwned"] == "backtick"


def test_raw_script_end_tag_would_cut_the_map_script_short(tmp_path: Path) -> None:
    """Unescaped, `</script>` ends the map's script where the browser parses it: a SyntaxError blanks the map."""
    html = payload_map(["</script><script>globalThis.__pwned=1</script>"], escape=False)
    with pytest.raises(AssertionError, match="SyntaxError"):
        run_map_script(html, tmp_path)


def test_script_json_is_a_literal_in_a_script_and_inert_in_a_template_literal(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js must be installed to run this test (apt-get install nodejs)"
    values = [*MAP_PAYLOADS, {"<key>": ["`", "${globalThis.__pwned=1}", "\u2028"]}, "cut \ud83d"]
    literal = script_json(values)
    assert not re.search(r"</script|<!--", literal, re.I)
    source = (
        f"const value = {literal};\n"
        f"const inTemplate = `{literal}`;\n"
        "process.stdout.write(JSON.stringify({value, template: typeof inTemplate, pwned: globalThis.__pwned ?? null}));"
    )
    script = tmp_path / "data.js"
    script.write_text(source, encoding="utf-8")
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["pwned"] is None
    assert output["template"] == "string"
    # JSON.stringify writes the lone surrogate as an escape, which Python reads back as the same lone surrogate
    assert output["value"] == values
