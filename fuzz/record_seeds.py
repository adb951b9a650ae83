"""Records the messages real drivers send, as seeds for the wire_frame and command fuzzers.

Usage: python3 record_seeds.py UPSTREAM_HOST:PORT OUT_DIR

Listens on 127.0.0.1 (a free port, printed as "recording on PORT"), forwards every
connection to UPSTREAM, and writes each client-to-server message, whole frame, to
OUT_DIR/<sha1 of its bytes>: the same message sent twice is one seed. Messages over
64 KiB (bulk inserts) are skipped; the fuzzers' inputs are smaller than that.
Stops when stdin closes.
"""

import asyncio
import hashlib
import os
import sys

MAX_SEED = 64 * 1024


async def pipe(reader, writer, record):
    buffered = b""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
            if record is None:
                continue
            buffered += chunk
            while len(buffered) >= 4:
                length = int.from_bytes(buffered[:4], "little")
                if length < 16 or len(buffered) < length:
                    break
                record(buffered[:length])
                buffered = buffered[length:]
    finally:
        writer.close()


async def main(upstream, out_dir):
    host, port = upstream.rsplit(":", 1)
    os.makedirs(out_dir, exist_ok=True)

    def record(frame):
        if len(frame) <= MAX_SEED:
            name = hashlib.sha1(frame).hexdigest()
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(frame)

    async def serve(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            pipe(client_reader, server_writer, record),
            pipe(server_reader, client_writer, None),
            return_exceptions=True,
        )

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(f"recording on {server.sockets[0].getsockname()[1]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
