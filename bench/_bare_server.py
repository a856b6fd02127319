"""The baseline: a grpc.aio server whose StreamRiderPositions only counts messages (no auth, no Redis).

`python -m bench._bare_server --ready-file F`: measures what the transport alone costs, so the real
server's ingest rate can be read as a ratio of it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import grpc

from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc


class CountingServicer(dispatch_pb2_grpc.DispatchServiceServicer):
    async def StreamRiderPositions(self, request_iterator, context):  # type: ignore[no-untyped-def]
        accepted = 0
        async for message in request_iterator:
            accepted += len(message.fixes)
        return pb.StreamRiderPositionsResponse(accepted_count=accepted)


async def serve(ready_file: Path) -> None:
    server = grpc.aio.server()
    dispatch_pb2_grpc.add_DispatchServiceServicer_to_server(CountingServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await asyncio.to_thread(ready_file.write_text, str(port))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    asyncio.run(serve(parser.parse_args().ready_file))
