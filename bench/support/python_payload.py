"""The published Python client's payload ceiling (bench part "payload"): a preload file in, then in
and back as a result file, through the loopback to the bench page, timed around call_async and its
future as a driver author would. JSON and base64 are its protocol: its files never go as bytes.

Usage: python python_payload.py COPY.js COPY.wasm IN.bin OUT.bin RUNS   (prints {"inMs": [...], "bothMs": [...]})
"""
import asyncio
import json
import sys
import time

from motivus.client import Client


async def timed(motivus, task):
    t0 = time.perf_counter()
    await motivus.select_task(motivus.call_async(task))
    return (time.perf_counter() - t0) * 1000


async def main(loader, wasm, path_in, path_out, runs):
    motivus = await Client.connect()
    base = {"wasm_path": wasm, "loader_path": loader}
    await timed(motivus, {**base, "arguments": ["/input/in.bin"], "preload_files": {"/input/in.bin": ""}})
    content = motivus.read_file(path_in)
    in_ms, both_ms = [], []
    for _ in range(runs):
        in_ms.append(await timed(motivus, {**base, "arguments": ["/input/in.bin"], "preload_files": {"/input/in.bin": content}}))
        both_ms.append(await timed(motivus, {
            **base,
            "arguments": ["/input/in.bin", "/output/out.bin"],
            "preload_files": {"/input/in.bin": content},
            "result_files": {"/output/out.bin": path_out},
        }))
    print(json.dumps({"inMs": in_ms, "bothMs": both_ms}))


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
