"""The ops cockpit and the merchant dashboard: web pages served by the product beside its gRPC API (issue 22).

`cockpit.web` serves pages and their data behind the API's tokens; `cockpit.feed` keeps the live city the ops
view draws; `cockpit.merchant` reads a merchant's day; `cockpit.roads` draws the base map from the city's own
road graph, so the pages need no tile server and no internet.
"""
