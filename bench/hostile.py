"""Peak memory and time of each hostile input of issue 15, one fresh process per case.

    python -m bench.hostile                 # this checkout
    PYTHONPATH=/path/to/other/checkout python bench/hostile.py   # another version (before)

Each case runs the unit the issue names (parse_feed, html_to_text, the regex guard and the
matcher's regex, parse_yaml, the fetcher's decoder, article extraction) on a generated
input in a child process, which reports its wall time and peak RSS (ru_maxrss). A case
that runs past ``--timeout`` seconds is reported as such. Sizes are kept so that the
"before" side finishes on a laptop; the issue's full-size numbers scale from them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CASES: dict[str, str] = {
    "entity-amplification (60 KB feed, 100 refs × 20 KB entity × 30 items)": """
from monitor.parse.feeds import parse_feed
value = "x" * 20000
items = "".join(f"<item><title>t{i}</title><description>{'&a;' * 100}</description>"
                f"<guid>g{i}</guid></item>" for i in range(30))
body = (f'<?xml version="1.0"?>\\n<!DOCTYPE rss [\\n<!ENTITY a "{value}">\\n]>\\n'
        f'<rss version="2.0"><channel><title>c</title>{items}</channel></rss>').encode()
try:
    feed = parse_feed(body, url="http://x/")
    result = f"{sum(len(e.summary) for e in feed.entries):,} characters of summaries"
except Exception as exc:
    result = f"refused: {exc}"
""",
    "unclosed tags (32 KB of '<p a')": """
from monitor.parse.htmltext import html_to_text
result = f"{len(html_to_text('<p a' * 8192)):,} characters"
""",
    "regex (?:a{1,20}){1,20}b on 24 characters": """
import re
from monitor.analysis.regex_aliases import regex_problem
pattern = r"(?:a{1,20}){1,20}b"
problem = regex_problem(pattern)
if problem:
    result = "refused by the guard"
else:
    re.search(pattern, "a" * 24)
    result = "accepted and run"
""",
    r"regex \d+x?\d+y on 1,500 digits": """
import re
from monitor.analysis.regex_aliases import regex_problem
pattern = r"\\d+x?\\d+y"
if regex_problem(pattern):
    result = "refused by the guard"
else:
    re.search(pattern, "1" * 1500)
    result = "accepted and run"
""",
    "YAML alias bomb (6 levels × 10 aliases)": """
from monitor.domain.errors import ConfigError
from monitor.config.yamlfile import parse_yaml
text = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\\n" for i in range(6))
try:
    parse_yaml(text, "bomb.yaml")
    result = "expanded"
except ConfigError as exc:
    result = f"refused: {exc}"
""",
    "YAML self-referencing alias": """
from monitor.domain.errors import ConfigError
from monitor.config.yamlfile import parse_yaml
try:
    parse_yaml("terms: &t {x: [*t]}\\n", "self.yaml")
    result = "read"
except ConfigError as exc:
    result = f"refused: {exc}"
except RecursionError:
    result = "RecursionError (traceback)"
""",
    "gzip + 200 MB of junk (max_bytes 1 MB)": """
import asyncio, gzip, httpx
from monitor.config.settings import FetchConfig
from monitor.sources.fetch import Fetcher
from monitor.domain.errors import FetchError
feed = gzip.compress(
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
)
async def stream():
    yield feed
    for _ in range(3200):
        yield b"J" * 65536
def handler(request):
    return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=stream())
async def go():
    config = FetchConfig(max_bytes=1_000_000, allow_private_networks=True)
    async with Fetcher(config, transport=httpx.MockTransport(handler)) as fetcher:
        return await fetcher.fetch("http://feed.test/rss")
try:
    result = f"{len(asyncio.run(go()).body or b''):,} bytes of body"
except FetchError as exc:
    result = f"refused: {exc}"
""",
    "180,000 tiny entries (9.7 MB)": """
from monitor.parse.feeds import parse_feed
from monitor.identity.keys import key_entries
items = "".join(f"<item><title>t{i}</title><guid>g{i}</guid></item>" for i in range(180000))
body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
        f'{items}</channel></rss>').encode()
feed = parse_feed(body, url="http://x/")
keyed = key_entries(feed.entries, "x")
result = f"{len(keyed):,} entries kept"
""",
    "a 5 MB title": """
from monitor.parse.feeds import parse_feed
title = "T" * 5_000_000
body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item><title>{title}'
        '</title><guid>g</guid></item></channel></rss>').encode()
result = f"{len(parse_feed(body, url='http://x/').entries[0].title):,} characters of title"
""",
    "an 8 MB article page": """
from monitor.parse.article import extract_article_text
try:
    from monitor.pipeline.parsepool import ARTICLE_MAX_BYTES
except ImportError:
    ARTICLE_MAX_BYTES = None
para = "<p>" + " ".join(f"word{i}" for i in range(60)) + ".</p>"
page = ("<html><body><article>" + para * 20000 + "</article></body></html>").encode()[:8_000_000]
text = extract_article_text(page[:ARTICLE_MAX_BYTES] if ARTICLE_MAX_BYTES else page, "http://x/a")
cut = ARTICLE_MAX_BYTES or len(page)
result = f"{len(text or ''):,} characters extracted (page cut to {cut:,} bytes)"
""",
    "JSON Feed: bad date + 100,000-deep nesting": """
from monitor.parse.feeds import parse_feed
deep = "[" * 100000 + "]" * 100000
body = ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "a", "title": "A", '
        f'"content_html": {deep}, "date_published": "0001-01-01T00:00:00+14:00"}}, '
        '{"id": "b", "title": "B"}]}').encode()
try:
    result = f"{len(parse_feed(body, url='http://x/').entries)} entries read"
except BaseException as exc:
    result = f"failed: {type(exc).__name__}"
""",
}

_RUNNER = """
import json, resource, sys, time
started = time.perf_counter()
result = None
exec(compile(sys.argv[1], "case", "exec"))
print(json.dumps({"seconds": time.perf_counter() - started, "result": str(result)[:120],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_case(code: str, timeout: float) -> dict[str, object]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, code], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"seconds": time.perf_counter() - started, "result": f"> {timeout:.0f} s, stopped"}
    if done.returncode != 0:
        return {"result": f"died: {done.stderr.strip().splitlines()[-1:]}"}
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("-k", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    for name, code in CASES.items():
        if args.k.lower() not in name.lower():
            continue
        report = run_case(code, args.timeout)
        seconds = report.get("seconds")
        peak = report.get("peak_mb")
        timing = f"{seconds:7.2f} s" if isinstance(seconds, float) else "      — "
        memory = f"{peak:7.0f} MB" if isinstance(peak, float) else "      — "
        print(f"{name:62} {timing} {memory}  {report['result']}", flush=True)


if __name__ == "__main__":
    main()
