#!/usr/bin/env python3
# What open live pages cost `serve`: N pages (default 1,000) following one chain, serve's RSS idle
# and with them open, and the CPU to tell every page of 200 new blocks (two nodes reporting one
# every 20 ms), with how many times each page was told.
#
#   live-pages.py N          pages of serve's own, on its server-sent events (`GET /events?chain=`);
#                            the pages' re-fetches are not made: that is the page's render, measured
#                            apart. A page is told "changed" per event.
#   live-pages.py --feed N   readers of substrate-telemetry's feed (`/feed`), each following the
#                            chain as its frontend does; a reader is told each node's block reports
#                            (`ImportedBlock`). The feed reads a changed chain once per quarter second
#                            whatever the number of readers.
#
# Needs a release build and Python's `websockets` (pip install websockets):
#   cargo build --release && python3 scripts/live-pages.py 1000 && python3 scripts/live-pages.py --feed 1000
import asyncio, json, os, subprocess, sys, tempfile, time, websockets

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "nodepulse")
WORK = tempfile.mkdtemp(prefix="nodepulse-live-pages-")
DB = f"sqlite://{WORK}/pages.db"
ADDR = "127.0.0.1:18777"
GENESIS = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3"
FEED = "--feed" in sys.argv[1:]
COUNTS = [arg for arg in sys.argv[1:] if arg != "--feed"]
PAGES = int(COUNTS[0]) if COUNTS else 1000
BLOCKS = 200
IMPORTED_BLOCK, SUBSCRIBED_TO = 6, 13

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def cpu_ms(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")

async def page(counts, i, ready):
    r, w = await asyncio.open_connection(*ADDR.split(":"))
    w.write(f"GET /events?chain={GENESIS} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
    await w.drain()
    await r.readuntil(b"\r\n\r\n")
    ready.append(i)
    while True:
        line = await r.readline()
        if not line:
            return
        if line.startswith(b"event: changed"):
            counts[i] += 1

async def feed_reader(counts, i, ready):
    async with websockets.connect(f"ws://{ADDR}/feed", max_size=None) as ws:
        await ws.send(f"subscribe:{GENESIS}")
        async for frame in ws:
            actions = json.loads(frame)[0::2]
            if SUBSCRIBED_TO in actions:
                ready.append(i)
            counts[i] += actions.count(IMPORTED_BLOCK)

def frame(node, payload):
    return json.dumps({"id": node, "ts": "2026-12-02T00:00:00Z", "payload": payload})

async def main():
    serve = subprocess.Popen([BIN, "serve", "--listen", ADDR, "--database", DB, "--public-reads",
                              "--db-save-latency", "5ms", "--max-http-connections-per-ip", "5000"],
                             stderr=subprocess.DEVNULL)
    await asyncio.sleep(2)
    pid = serve.pid
    async with websockets.connect(f"ws://{ADDR}/submit") as ws:
        # The nodes connect first: the feed lists only chains with nodes on them.
        for node in (1, 2):
            await ws.send(frame(node, {"msg": "system.connected", "genesis_hash": GENESIS, "chain": "Polkadot",
                                       "name": f"n{node}", "network_id": f"12D3KooWpages{node}"}))
        await asyncio.sleep(2)
        idle = rss_kib(pid)
        counts = [0] * PAGES
        ready = []
        follow = feed_reader if FEED else page
        tasks = [asyncio.create_task(follow(counts, i, ready)) for i in range(PAGES)]
        while len(ready) < PAGES:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        with_pages = rss_kib(pid)
        counts[:] = [0] * PAGES
        before, started = cpu_ms(pid), time.time()
        for height in range(1, BLOCKS + 1):
            for node in (1, 2):
                await ws.send(frame(node, {"msg": "block.import", "height": height, "best": "0x%064x" % height}))
            await asyncio.sleep(0.02)
        await asyncio.sleep(2)
        spent, elapsed = cpu_ms(pid) - before, time.time() - started
    got = sorted(counts)
    what = "feed readers" if FEED else "pages"
    print(f"{PAGES} {what}: serve RSS {idle/1024:.1f} MB idle, {with_pages/1024:.1f} MB with them open "
          f"({(with_pages-idle)/PAGES:.1f} KiB each); {BLOCKS} blocks in {elapsed:.1f} s cost serve {spent} CPU-ms "
          f"({spent/BLOCKS:.2f} ms a block, {spent*1000/BLOCKS/PAGES:.1f} us a block per {what[:-1]}); "
          f"times each was told: min {got[0]}, median {got[len(got)//2]}, max {got[-1]}")
    serve.terminate(); serve.wait()
    for t in tasks: t.cancel()

asyncio.run(main())
