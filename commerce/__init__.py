"""Commerce services beside dispatch: the order center (and, in `settlement`, where the money goes)."""
