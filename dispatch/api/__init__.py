"""The gRPC face of the dispatch engine: thin servicers and proto <-> domain conversion."""

from dispatch.api.servicer import DispatchServicer

__all__ = ["DispatchServicer"]
