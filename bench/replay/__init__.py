"""City replays: scenarios on a real OSM road graph, driven through the real engine at simulated speed."""
