"""Road networks: graph build from OSM, travel modes, traffic, and the travel-time oracle over them."""
