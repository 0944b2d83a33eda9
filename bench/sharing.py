"""Searching a published sharing list through the gateway at 50 concurrent clients, beside GET /me through the
same gateway in the same run, at each list size asked for (20,000 and 200,000 entries by default).

The entries are written straight into the sharing service's SQLite database with their grams (building 200,000
MOOC runs through every review would take days); everything read afterwards goes through the gateway.

    python -m bench.sharing [entries ...]      # default: 20000 200000
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.__main__ import bench_mesh, setup
from bench.load import cpu_seconds
from bench.wrk import run_wrk
from devmesh.mesh import Mesh
from servicekit.clock import utcnow
from servicekit.pinyin import name_key, search_key
from services.sharing.adapters.orm import ENTRY_GRAMS

SUBJECTS = ["数据结构", "操作系统", "计算机网络", "高等数学", "线性代数", "大学物理", "有机化学", "宏观经济学",
            "管理学原理", "中国近现代史纲要", "大学英语", "概率论与数理统计", "机械制图", "电路原理", "软件工程"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
SCHOOLS = [f"{city}{kind}" for city in ("杭州", "宁波", "温州", "绍兴", "湖州", "嘉兴", "金华", "台州")
           for kind in ("大学", "学院", "职业技术学院")]
BATCH = 5000
ENTRY_COLUMNS = ("id", "list_id", "run_id", "course_id", "school_id", "school_name", "course_name", "category",
                 "online_credits", "total_credits", "leader_id", "leader_name", "leader_phone", "leader_email",
                 "term_code", "state", "rejection_reason", "run_state", "taken_down", "search_text",
                 "search_pinyin", "added_by", "created_at", "updated_at")


def seed(db_path: Path, entries: int, term: str) -> str:
    """A published list of `entries` approved entries, their grams and the list's gram scope, in bulk."""
    rng = random.Random(entries)
    list_id = str(uuid.uuid4())
    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    db = sqlite3.connect(db_path, timeout=60)
    db.execute("PRAGMA journal_mode=WAL")
    with db:
        db.execute("INSERT INTO sharing_lists (id, province_code, term_code, title, notice_on, publish_by, state, "
                   "opened_by, created_at, published_at, late_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                   (list_id, "33", term, f"基准清单 {entries}", "2026-10-08", "2026-11-30", "published", "bench",
                    now, now, ""))
        for start in range(0, entries, BATCH):
            rows, grams = [], []
            for i in range(start, min(start + BATCH, entries)):
                course, leader = f"{rng.choice(SUBJECTS)}（第{i}讲）", rng.choice(SURNAMES) + "老师"
                school = SCHOOLS[i % len(SCHOOLS)]
                text, key = f"{course} {leader} {school}".lower(), search_key(course, leader, school)
                entry_id = str(uuid.uuid4())
                rows.append((entry_id, list_id, str(uuid.uuid4()), str(uuid.uuid4()), str(i % len(SCHOOLS)),
                             school, course, rng.choice(["理工", "人文"]), rng.choice([1, 1.5, 2, 3]), 3,
                             str(uuid.uuid4()), leader, "", "", term, "approved", "", "published", 0, text, key,
                             "bench", now, now))
                grams += [(list_id, gram, course, entry_id) for gram in ENTRY_GRAMS.grams_of((text, key))]
            db.executemany(f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) "
                           f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})", rows)
            db.executemany("INSERT INTO entry_grams (scope, gram, rank, owner_id) VALUES (?,?,?,?)", sorted(grams))
        db.execute("INSERT INTO entry_grams_scopes (scope, revision) VALUES (?, 1)", (list_id,))
    db.execute("ANALYZE")
    db.close()
    return list_id


def measure(mesh: Mesh, token: str, list_id: str, size: int) -> None:
    """wrk's load (the Python client's own CPU would compete with the mesh on 2 cores), and the platform's own CPU
    per request beside each figure."""
    entries = f"/api/v1/sharing/lists/{list_id}/entries"
    rng = random.Random(7)
    queries = [rng.choice([rng.choice(SUBJECTS)[:2], rng.choice(SURNAMES) + "老师", rng.choice(SCHOOLS)[:2],
                           name_key(rng.choice(SUBJECTS)).split()[-1]]) for _ in range(500)]
    searches = [f"{entries}?page_size=20&query={quote(q)}" for q in queries]
    pids = {name: mesh.processes[name].pid for name in ("gateway", "sharing", "identity")}
    # A list is searched again and again between its changes: its searches' totals and pages are remembered per
    # revision (servicekit.grams.Totals, SharingHandlers.search_page). Each distinct search once first, timed
    # apart: the cold figure.
    with httpx.Client(base_url=mesh.gateway_url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        started = time.perf_counter()
        for path in dict.fromkeys(searches):
            http.get(path).raise_for_status()
        cold = (time.perf_counter() - started) / len(dict.fromkeys(searches))
    print(f"\n{size} entries: each of the {len(dict.fromkeys(searches))} distinct searches once, counted afresh: "
          f"{1000 * cold:.1f} ms a search, one at a time")
    results, spent = [], []
    browse = [f"{entries}?page_size=20&category={quote('理工')}"]
    # The long tail: every request a search never asked before (a no-op credits filter makes each one new), so
    # nothing is remembered: each is counted, read and rendered afresh.
    new_searches = [f"{path}&min_credits={0.0001 * (number + 1):.4f}" for number, path in enumerate(searches * 40)]
    for name, paths in (("search in Chinese or pinyin (substring), 20 a page", searches),
                        ("browse filtered by category, 20 a page", browse),
                        ("GET /api/v1/me (baseline)", ["/api/v1/me"]),
                        ("search, each one never asked before (the long tail)", new_searches)):
        before = cpu_seconds(pids)
        results.append(run_wrk(name, mesh.gateway_url, paths, token))
        after = cpu_seconds(pids)
        spent.append({who: 1000 * (after[who] - before[who]) / results[-1].requests for who in pids})
    print(f"\n== a published sharing list of {size} entries, 50 concurrent connections, through the gateway "
          f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for figures, cpu in zip(results, spent, strict=True):
        print(figures.line())
        print("    platform CPU per request: " + ", ".join(f"{who} {ms:.2f} ms" for who, ms in cpu.items()))
    for number, what in ((0, "search"), (1, "browse"), (3, "long-tail search")):
        print(f"{size} entries, {what} / baseline: throughput {results[number].rps / results[2].rps:.2f}x, "
              f"p50 {results[number].p50_ms / results[2].p50_ms:.1f}x, "
              f"p99 {results[number].p99_ms / results[2].p99_ms:.1f}x")


def main() -> None:
    sizes = [int(size) for size in sys.argv[1:]] or [20_000, 200_000]
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            _, _, admin = setup(mesh)
            for number, size in enumerate(sizes):
                started = time.perf_counter()
                list_id = seed(Path(data) / "sharing.db", size, f"{2030 + number}-spring")
                print(f"\nseeded {size} approved entries and their grams in {time.perf_counter() - started:.0f} s")
                measure(mesh, admin.token, list_id, size)
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
