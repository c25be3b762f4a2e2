"""The one escaping path and the link gate: exact outputs, and proof in a real JavaScript engine (Node.js) that the
map's script, as streamlit-folium hands it to the page, parses and gives the map back exactly the data it was
built from, whatever text the data holds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from streamlit_folium import _get_map_string

from incidents import Dataset, load_incidents_bytes
from incidents.render import IncidentLayer, MapLayer, MapOptions, build_map, layer_map, map_payload
from incidents.safety import MAX_URL_LENGTH, is_script_json, safe_url, script_json, url_problem

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
    ("value", "expected"),
    [
        ({"title": "</script><script>alert(1)</script>"},
         '{"title":"\\u003c/script\\u003e\\u003cscript\\u003ealert\\u00281)\\u003c/script\\u003e"}'),
        (["<!--", "-->", "&amp;"], '["\\u003c!--","--\\u003e","\\u0026amp;"]'),
        ("`${alert(1)}`", '"\\u0060\\u0024{alert\\u00281)}\\u0060"'),
        # what streamlit-folium's rewrites of the map script look for: "alert(coords);", {{'name'}}, _<id>
        ("\x1alert(coords);", '"\\u001alert\\u0028coords);"'),
        ("a\u2028b\u2029c", '"a\\u2028b\\u2029c"'),
        ("\\`", '"\\\\\\u0060"'),
        ({"<key>": 1.5, "n": None, "ok": True}, '{"\\u003ckey\\u003e":1.5,"n":null,"ok":true}'),
        ("{{'name'}} map_div drawnItems_draw_control_div_1",
         '"{{\\u0027name\\u0027}} map\\u005fdiv drawnItems\\u005fdraw\\u005fcontrol\\u005fdiv\\u005f1"'),
        ("cut \ud83d", '"cut \\ud83d"'),
        ("هجوم", '"هجوم"'),
    ],
)
def test_script_json_exact_output(value: Any, expected: str) -> None:
    assert script_json(value) == expected
    assert json.loads(expected) == value


@pytest.mark.parametrize("text", ["</script><script>alert(1)</script>", "<!--", "a & b", "`${x}`", "\u2028",
                                  "\ud800", "alert(coords);", "it's", "a_b"])
def test_the_map_layer_takes_only_data_written_by_script_json(text: str) -> None:
    plain = json.dumps({"title": text}, ensure_ascii=False)
    assert not is_script_json(plain) and is_script_json(script_json({"title": text}))
    with pytest.raises(ValueError, match=r"must be written by incidents\.safety\.script_json"):
        IncidentLayer(MapLayer(script=plain, bounds=None))
    with pytest.raises(ValueError, match=r"must be written by incidents\.safety\.script_json"):
        layer_map(MapLayer(script=plain, bounds=None), options=MapOptions())
    fmap = layer_map(MapLayer(script=script_json({"title": text}), bounds=None), options=MapOptions())
    assert text not in _get_map_string(fmap)


def test_script_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        script_json({"x": float("nan")})


# -- proof in a JavaScript engine --------------------------------------------------------------------------------

# Stands in for Leaflet (L) and the page; IncidentMap.addIncidents keeps what the map script hands it.
NODE_PRELUDE = r"""
"use strict";
function stub(name) {
  return new Proxy(function () {}, {
    get(target, property) {
      if (property === Symbol.toPrimitive) return () => name;
      return stub(name + "." + String(property));
    },
    apply(target, self, args) {
      for (const arg of args) if (typeof arg === "function") arg();
      return stub(name + "()");
    },
    construct() { return stub("new " + name); },
  });
}
globalThis.window = globalThis;
globalThis.parent = globalThis;
globalThis.document = stub("document");
globalThis.L = stub("L");
const handed = [];
globalThis.IncidentMap = { addIncidents(map, payload) { handed.push(payload); } };
process.on("exit", () => {
  // synchronous: process.stdout.write to a pipe may not be flushed before the process ends
  require("fs").writeSync(1, JSON.stringify({ handed, pwned: globalThis.__pwned ?? null }));
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
    # streamlit-folium edits the whole map script as text: it deletes "alert(coords);" (cutting "\u001a" to "\u001",
    # a SyntaxError), turns {{'name'}} into name and renames drawnItems_draw_control_div_<n> and map ids
    "x\x1alert(coords);y",
    "alert(coords);{{'L'}}drawnItems_draw_control_div_7 map_div",
    "\x1a\x1a\x1alert(coords);\\u001alert(coords);",
]


def run_node(source: str, tmp_path: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "Node.js must be installed to run this test (apt-get install nodejs)"
    script = tmp_path / "map.js"
    script.write_text(NODE_PRELUDE + source, encoding="utf-8")
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def hostile_dataset() -> Dataset:
    """One incident per payload, the payload in every text the map shows."""
    features = []
    for i, text in enumerate(MAP_PAYLOADS):
        properties = {
            "id": f"payload-{i}", "title": text, "description": text, "category": "airstrike", "start": "2017-04-04",
            "status": "claimed", "place": text, "perpetrator": text, "tags": [text],
            "claims": [{"by": text, "stance": "asserts", "text": text}],
            "sources": [{"title": text, "publisher": text, "url": "https://example.org/" + str(i)}],
        }
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [36 + i / 100, 35]},
                         "properties": properties})
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return load_incidents_bytes(data, name="payloads.geojson")


@pytest.mark.parametrize("mode", ["symbols", "points"])
def test_the_map_script_streamlit_folium_sends_gives_the_map_exactly_its_data_and_runs_nothing(
    mode: str, tmp_path: Path
) -> None:
    frame = hostile_dataset().frame
    options = MapOptions(mode=mode)  # type: ignore[arg-type]
    script = _get_map_string(build_map(frame, options=options))
    output = run_node(script, tmp_path)
    assert output["pwned"] is None
    assert output["handed"] == [map_payload(frame, options=options)]
    handed = output["handed"][0]
    titles = ([i["record"]["title"] for i in handed["incidents"]] if mode == "symbols"
              else handed["points"]["title"])
    assert titles == MAP_PAYLOADS


def test_the_node_harness_catches_a_map_script_cut_by_a_rewrite(tmp_path: Path) -> None:
    """Without the escapes, streamlit-folium's deletion of "alert(coords);" cuts an escape in two: no map at all."""
    plain = json.dumps({"title": "x\x1alert(coords);y"})
    script = f"IncidentMap.addIncidents(map_div, {plain});".replace("alert(coords);", "")
    with pytest.raises(AssertionError, match="SyntaxError"):
        run_node(script, tmp_path)


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
