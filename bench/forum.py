"""A forum page of a run with 10,000 posts (1,000 threads under 10 topics, 9,000 replies by 50 students): the
first page of threads with the caller's unread marks, a deep page, a search through every post, one thread's page
of replies and the topics with their unread counts, through the gateway one request at a time (as a browser asks),
beside GET /me in the same run.

    python -m bench.forum
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from bench.__main__ import bench_mesh, new_class, new_user, open_run, open_term, setup
from bench.gradebook import p50, p90, timed
from bench.http import Connection

STUDENTS, TOPICS, THREADS, POSTS = 50, 10, 1_000, 10_000
REPEAT = 30


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            started = time.perf_counter()
            api, school, admin = setup(mesh)
            open_term(api)
            leader = new_user(api, admin, school, "teacher", "FL1", "论坛负责人")
            run = open_run(leader, admin, "大学物理讨论")
            _, students = new_class(api, admin, school, leader, run, "讨论班", [f"F{n:04d}" for n in range(STUDENTS)])
            topics = [leader.post(f"/learning/runs/{run['id']}/forum/topics", {"title": f"第{n + 1}章讨论"})
                      for n in range(TOPICS)]

            def start(n: int) -> str:
                kind = "question" if n % 2 else "discussion"
                return students[n % STUDENTS].post(f"/learning/forum/topics/{topics[n % TOPICS]['id']}/threads", {
                    "kind": kind, "title": f"关于第{n}题的{'问题' if n % 2 else '讨论'}",
                    "body": f"第{n}个帖子：牛顿第二定律在非惯性系中如何理解？"})["id"]

            before = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                threads = list(pool.map(start, range(THREADS)))

            def reply(n: int) -> None:
                students[(n * 7) % STUDENTS].post(f"/learning/forum/threads/{threads[n % THREADS]}/replies",
                                                  {"body": f"第{n}条回复：可以引入惯性力，受力分析后再列方程。"})

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(reply, range(POSTS - THREADS)))
            seed_seconds = time.perf_counter() - before
            setup_seconds = time.perf_counter() - started
            reader = students[1]

            async def measure() -> None:
                connection = Connection(mesh.gateway_url)
                base = f"/api/v1/learning/runs/{run['id']}/forum"
                await timed(connection, base + "/threads", reader.token, 3)  # warm-up
                await timed(connection, "/api/v1/me", reader.token, 3)
                first, first_body = await timed(connection, base + "/threads?page_size=20", reader.token, REPEAT)
                deep, _ = await timed(connection, base + "/threads?page_size=20&page_token=" +
                                      json.loads(first_body)["next_page_token"].replace("=", "%3D"),
                                      reader.token, REPEAT)
                search, search_body = await timed(connection, base + "/threads?page_size=20&q=%E7%AC%AC999%E6%9D%A1",
                                                  reader.token, REPEAT)  # "第999条": one reply among 9,000
                thread, thread_body = await timed(connection, f"/api/v1/learning/forum/threads/{threads[0]}",
                                                  reader.token, REPEAT)
                topic_times, topics_body = await timed(connection, base + "/topics", reader.token, REPEAT)
                me, _ = await timed(connection, "/api/v1/me", reader.token, REPEAT)
                await connection.close()

                page = json.loads(first_body)
                assert page["total"] == THREADS and len(page["threads"]) == 20, page["total"]
                assert json.loads(search_body)["total"] >= 1
                assert len(json.loads(thread_body)["posts"]) == (POSTS - THREADS) // THREADS
                assert sum(t["threads"] for t in json.loads(topics_body)["topics"]) == THREADS
                baseline = p50(me)

                def line(label: str, times: list[float]) -> str:
                    return (f"{label:<52} p50 {p50(times) * 1000:8.1f} ms   p90 {p90(times) * 1000:8.1f} ms   "
                            f"({len(times)} requests)")

                print(f"\n== the forum of a run with {POSTS:,} posts ({THREADS:,} threads, {TOPICS} topics, "
                      f"{STUDENTS} students), through the gateway, one request at a time")
                print(f"setup {setup_seconds:.0f} s, of which posting {POSTS:,} posts {seed_seconds:.0f} s "
                      f"({POSTS / seed_seconds:.0f} posts/s from 16 clients)")
                print(line("threads, first page (20, with unread marks)", first))
                print(line("threads, second page", deep))
                print(line("search through every post (one reply matches)", search))
                print(line("one thread with its replies (marks it read)", thread))
                print(line(f"topics with thread and unread counts ({TOPICS})", topic_times))
                print(line("GET /me (baseline)", me))
                print(f"ratios of p50 to GET /me: first page {p50(first) / baseline:.1f}x, second page "
                      f"{p50(deep) / baseline:.1f}x, search {p50(search) / baseline:.1f}x, thread "
                      f"{p50(thread) / baseline:.1f}x, topics {p50(topic_times) / baseline:.1f}x")

            asyncio.run(measure())
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
