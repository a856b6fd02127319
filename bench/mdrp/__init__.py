"""Meal Delivery Routing Problem instances (Reyes et al. 2018): reading, solution files, the feasibility
checker and the metrics, as described in ../shared/data/mdrp/FORMAT.md."""
