"""Reading replies off aiohttp: failures mapped to ours, bodies capped, streamed or sampled."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import aiohttp
import anyio

from ..errors import BodyTooLargeError, CanvasUnreachableError, TransientError
from .responses import GZIP_MAGIC

_ERROR_BYTES = 4096  # of a download's error reply: its message is at the start


@contextmanager
def transport_errors(base_url: str, deadline: float) -> Iterator[None]:
    """Map aiohttp's failures to ours; their text never names request headers."""
    try:
        yield
    except aiohttp.ClientConnectorError as exc:
        # Its text names only host and port, never request headers.
        raise CanvasUnreachableError(f"cannot connect to {base_url}: {exc.strerror}") from None
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
        raise TransientError(f"connection dropped mid-response ({type(exc).__name__})") from None
    except aiohttp.ClientOSError as exc:
        raise TransientError(f"connection error ({exc.strerror or type(exc).__name__})") from None
    except TimeoutError:
        raise TransientError(f"Canvas did not answer within {deadline:g} s (--timeout)") from None
    except aiohttp.ClientError as exc:
        raise TransientError(f"HTTP client error ({type(exc).__name__})") from None


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, decoded from gzip or deflate as it arrives, refused once past ``limit`` bytes.

    aiohttp inflates in bounded steps as it is read, so an inflating body is stopped
    near the cap, not after it has filled memory.
    """
    length = response.content_length  # as sent, compressed or not
    chunks: list[bytes] = []
    size = 0
    if length is None or length <= limit:
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
    raise BodyTooLargeError(
        f"Canvas sent a response larger than {limit / 2**20:g} MiB (--max-body-mb) for "
        f"{urlsplit(str(response.url)).path}; a page of 100 page views is under 1 MB"
    )


async def body_chunks(response: aiohttp.ClientResponse, deadline: float) -> AsyncIterator[bytes]:
    """A streamed body's chunks as they arrive, each within ``deadline`` seconds."""
    while True:
        with anyio.fail_after(deadline):
            chunk = await response.content.readany()
        if not chunk:
            return
        yield chunk


async def error_head(response: aiohttp.ClientResponse, deadline: float) -> bytes:
    """The start of a streamed error reply, inflated if gzipped (downloads keep gzip)."""
    head = b""
    async for chunk in body_chunks(response, deadline):
        head += chunk
        if len(head) >= _ERROR_BYTES:
            break
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _ERROR_BYTES)
        except zlib.error:
            head = b""
    return head[:_ERROR_BYTES]


async def nothing() -> AsyncIterator[bytes]:
    """An empty body."""
    return
    yield b""  # pragma: no cover -- makes this an async generator
