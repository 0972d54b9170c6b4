"""One task definition (a JSON file) run with the published `motivus` client, the way a driver
author writes a driver: Client.connect, read_file for each preload file, call_async, barrier.

Usage: python task_driver.py TASK.json   (prints the task's result as JSON on the last line)
TASK.json is a task definition as in the Motivus docs; `preload_files` values are local paths
(read with motivus.read_file) and an optional `"repeat": N` sends it N times.
"""
import asyncio
import json
import sys

from motivus.client import Client


async def main(path):
    with open(path) as f:
        definition = json.load(f)
    motivus = await Client.connect()
    if "preload_files" in definition:
        definition["preload_files"] = {k: motivus.read_file(v) for k, v in definition["preload_files"].items()}
    repeat = definition.pop("repeat", 1)
    ids = [motivus.call_async(definition) for _ in range(repeat)]
    results = await motivus.barrier(ids)
    print(json.dumps(results[0] if repeat == 1 else results))


asyncio.run(main(sys.argv[1]))
