"""gRPC plumbing shared by every Tongcheng service: auth, status mapping, embedded Redis, server wiring."""
