"""Searching a published sharing list of 20,000 entries through the gateway at 50 concurrent clients,
beside GET /me through the same gateway in the same run.

The entries are written straight into the sharing service's database (building 20,000 MOOC runs
through every review would take hours); everything read afterwards goes through the gateway.

    python -m bench.sharing [entries, default 20000]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

from bench.__main__ import bench_mesh, setup
from bench.load import cpu_seconds
from bench.wrk import run_wrk
from devmesh.mesh import Mesh
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.pinyin import name_key
from services.sharing.adapters.orm import Entry, SharingList

SUBJECTS = ["数据结构", "操作系统", "计算机网络", "高等数学", "线性代数", "大学物理", "有机化学", "宏观经济学",
            "管理学原理", "中国近现代史纲要", "大学英语", "概率论与数理统计", "机械制图", "电路原理", "软件工程"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
SCHOOLS = [f"{city}{kind}" for city in ("杭州", "宁波", "温州", "绍兴", "湖州", "嘉兴", "金华", "台州")
           for kind in ("大学", "学院", "职业技术学院")]


async def seed(db_path: Path, entries: int) -> str:
    db = Database.from_url(f"sqlite+aiosqlite:///{db_path}")
    list_id = str(uuid.uuid4())
    async with db.transaction() as session:
        session.add(SharingList(id=list_id, province_code="33", term_code="2027-spring", title="基准清单",
                                notice_on="2026-10-08", publish_by="2026-11-30", state="published",
                                opened_by="bench", published_at=utcnow()))
        await session.flush()
        rows = []
        for i in range(entries):
            entry = Entry(id=str(uuid.uuid4()), list_id=list_id, run_id=str(uuid.uuid4()), course_id=str(uuid.uuid4()),
                          school_id=str(i % len(SCHOOLS)), school_name=SCHOOLS[i % len(SCHOOLS)],
                          course_name=f"{random.choice(SUBJECTS)}（第{i}讲）", category=random.choice(["理工", "人文"]),
                          online_credits=random.choice([1, 1.5, 2, 3]), total_credits=3,
                          leader_id=str(uuid.uuid4()), leader_name=random.choice(SURNAMES) + "老师",
                          term_code="2027-spring", state="approved", run_state="published", added_by="bench")
            entry.refresh_search_text()
            rows.append(entry)
        session.add_all(rows)
    await db.dispose()
    return list_id


def measure(mesh: Mesh, token: str, list_id: str) -> None:
    """wrk's load (the Python client's own CPU would compete with the mesh on 2 cores), and the platform's own CPU
    per request beside each figure."""
    entries = f"/api/v1/sharing/lists/{list_id}/entries"
    rng = random.Random(7)
    queries = [rng.choice([rng.choice(SUBJECTS)[:2], rng.choice(SURNAMES) + "老师", rng.choice(SCHOOLS)[:2],
                           name_key(rng.choice(SUBJECTS)).split()[-1]]) for _ in range(500)]
    searches = [f"{entries}?page_size=20&query={quote(q)}" for q in queries]
    pids = {name: mesh.processes[name].pid for name in ("gateway", "sharing", "identity")}
    results, spent = [], []
    browse = [f"{entries}?page_size=20&category={quote('理工')}"]
    for name, paths in (("search in Chinese or pinyin (substring), 20 a page", searches),
                        ("browse filtered by category, 20 a page", browse),
                        ("GET /api/v1/me (baseline)", ["/api/v1/me"])):
        before = cpu_seconds(pids)
        results.append(run_wrk(name, mesh.gateway_url, paths, token))
        after = cpu_seconds(pids)
        spent.append({who: 1000 * (after[who] - before[who]) / results[-1].requests for who in pids})
    print("\n== a published sharing list of its entries, 50 concurrent connections, through the gateway")
    for figures, cpu in zip(results, spent, strict=True):
        print(figures.line())
        print("    platform CPU per request: " + ", ".join(f"{who} {ms:.2f} ms" for who, ms in cpu.items()))
    print(f"search / baseline: throughput {results[0].rps / results[2].rps:.2f}x, "
          f"p50 {results[0].p50_ms / results[2].p50_ms:.1f}x, p99 {results[0].p99_ms / results[2].p99_ms:.1f}x")


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            _, _, admin = setup(mesh)
            list_id = asyncio.run(seed(Path(data) / "sharing.db", entries))
            print(f"seeded {entries} approved entries")
            measure(mesh, admin.token, list_id)
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
