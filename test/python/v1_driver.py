#!/usr/bin/python3
"""A driver that speaks to a Motivus cluster exactly as the published Python
client does (PROTOCOL.md, "What the published Python driver relies on"):
Phoenix V1 frames, bare recv() after the lobby join and leave, an integer-ref
heartbeat every 3 s, the task pushed as `trusted_work` unless `public_cluster`,
the result decoded with json.loads(gzip.decompress(base64.b64decode(body))),
result files written to their local paths, stdout/stderr kept under
.motivus/logs/. Uses Debian's python3-websockets only.

Usage: v1_driver.py TASK.json   (a task definition; prints the result as JSON)
"""
import asyncio
import base64
import gzip
import json
import os
import sys
import urllib.parse
import urllib.request
import uuid

import websockets


def read_b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def resolve(definition):
    """algorithm + algorithm_version through the registry, else wasm_path/loader_path."""
    if "algorithm" in definition:
        host = os.environ["ALGORITHM_REPO_HOST"]
        query = urllib.parse.urlencode({"name": definition["algorithm"]})
        with urllib.request.urlopen(f"{host}/api/package_registry/algorithms/?{query}") as res:
            listing = json.load(res)
        version = next(v for a in listing["data"] for v in a["versions"] if v["name"] == definition["algorithm_version"])
        fetch = lambda url: base64.b64encode(urllib.request.urlopen(url).read()).decode()
        return fetch(version["wasm_url"]), fetch(version["loader_url"]), version.get("data_url")
    return read_b64(definition["wasm_path"]), read_b64(definition["loader_path"]), definition.get("data_link")


async def heartbeat(ws):
    while True:
        await asyncio.sleep(3)
        await ws.send(json.dumps({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": 0}))


async def main(definition):
    uri = os.environ["WEBSOCKET_URI"]
    token = os.environ.get("APPLICATION_TOKEN", "")
    wasm, loader, data_link = resolve(definition)
    async with websockets.connect(f"{uri}?token={token}", max_size=None) as ws:
        await ws.send(json.dumps({"topic": "room:client?", "event": "phx_join", "payload": {}, "ref": "uuid"}))
        user = json.loads(await ws.recv())["payload"]["response"]["uuid"]
        await ws.send(json.dumps({"topic": "room:client?", "event": "phx_leave", "payload": {}, "ref": "uuid"}))
        await ws.recv()
        topic = f"room:client:{user}:{uuid.uuid4()}"
        await ws.send(json.dumps({"topic": topic, "event": "phx_join", "payload": {}, "ref": None}))
        beat = asyncio.ensure_future(heartbeat(ws))

        ref = str(uuid.uuid4())
        body = {
            "run_type": "wasm",
            "params": definition.get("params"),
            "arguments": definition.get("arguments"),
            "preload_files": {k: read_b64(v) for k, v in definition["preload_files"].items()} if "preload_files" in definition else None,
            "result_files": definition.get("result_files"),
            "wasm": wasm,
            "loader": loader,
            "data_link": data_link,
            "processing_base_time": 30,
            "flops": 45.0,
            "flop": 1.0,
        }
        task_type = "work" if definition.get("public_cluster") else "trusted_work"
        payload = {"body": body, "type": task_type, "ref": ref, "client_id": str(uuid.uuid4())}
        await ws.send(json.dumps({"topic": topic, "event": "task", "payload": payload, "ref": None}))

        while True:
            message = json.loads(await ws.recv())
            event = message["event"]  # every frame must carry an event
            if event != "result" or message["payload"]["ref"] != ref:
                continue
            response = message["payload"]
            stdout, stderr = response["stdout"], response["stderr"]
            result = json.loads(gzip.decompress(base64.b64decode(response["body"])))
            os.makedirs(".motivus/logs", exist_ok=True)
            for name, value in (("stdout", stdout), ("stderr", stderr)):
                with open(f".motivus/logs/{response['task_id']}.{name}", "wb") as f:
                    f.write(base64.b64decode(value) if value else b"")
            for virtual, local in (definition.get("result_files") or {}).items():
                os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
                with open(local, "wb") as f:
                    f.write(base64.b64decode(result[virtual]))
            beat.cancel()
            return result.get("data", result)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        task = json.load(f)
    print(json.dumps(asyncio.run(main(task))))
