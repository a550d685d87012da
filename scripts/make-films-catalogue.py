#!/usr/bin/env python3
"""Turns the Wikipedia film data (../shared/data/films, see its SOURCE.md) into the demo's
catalogue: data/films/films.jsonl.gz, in localrec's catalogue format.

Kept per film: title, the Wikipedia extract (CC BY-SA, cut at 600 characters on a sentence or word
boundary), year, decade, genres (first = category), the first three cast names, and the link to its
article. Dropped: thumbnails (posters used under fair use), the rest of the cast. Films without an
extract are left out; an article listed twice keeps its first entry. `popularity` is the length of
the article's intro in characters, a rough notability proxy (the data has no popularity), so the
cold-start list shows better-documented films first.

Run once when the source changes: python3 scripts/make-films-catalogue.py [../shared/data/films]
"""
import gzip
import json
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "films")
out = os.path.join(os.path.dirname(__file__), "..", "data", "films", "films.jsonl.gz")

def cut(text, limit=600):
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    stop = head.rfind(". ")
    if stop > limit // 2:
        return head[: stop + 1]
    return head[: head.rfind(" ")] + "…"

seen = set()
rows = []
for decade in ["1980s", "1990s", "2000s", "2010s", "2020s"]:
    with open(os.path.join(src, f"movies-{decade}.json"), encoding="utf-8") as f:
        films = json.load(f)
    for film in films:
        href = film.get("href")
        extract = (film.get("extract") or "").strip()
        if not href or not extract or href in seen:
            continue
        seen.add(href)
        genres = film.get("genres") or []
        cast = film.get("cast") or []
        row = {
            "id": href,
            "title": film["title"],
            "text": cut(extract),
            "popularity": len(extract),
            "url": "https://en.wikipedia.org/wiki/" + href,
            "attributes": {"year": film["year"], "decade": decade},
        }
        if genres:
            row["category"] = genres[0]
            row["tags"] = genres
        if cast:
            row["attributes"]["cast"] = ", ".join(cast[:3])
        rows.append(row)

os.makedirs(os.path.dirname(out), exist_ok=True)
with gzip.GzipFile(out, "wb", mtime=0) as f:
    for row in rows:
        f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
print(f"wrote {out}: {len(rows)} films")
