"""Stage 1, fetch: conditional GETs through the network guard, and when to poll each feed next."""
