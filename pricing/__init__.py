"""Delivery areas and delivery prices (issue 21): areas compiled to H3 cells with a city index, surge
from live supply and demand, and signed quotes the order center honours. No gRPC below `pricing.api`."""

from pricing.areas import AREA_RESOLUTION, AreaBook, CityEdge, compile_area
from pricing.engine import Conditions, MerchantsPage, Pricing, price_lines
from pricing.models import Area, AreaSpec, HourBand, PricingRules, Promotion, Quote, QuoteLine, Weather
from pricing.signing import PageTokens, QuoteSigner, QuoteTerms
from pricing.surge import CellState, DemandForecast, DispatchSupplyDemand, SupplyDemand, SurgeBoard

__all__ = [
    "AREA_RESOLUTION",
    "Area",
    "AreaBook",
    "AreaSpec",
    "CellState",
    "CityEdge",
    "Conditions",
    "DemandForecast",
    "DispatchSupplyDemand",
    "HourBand",
    "MerchantsPage",
    "PageTokens",
    "Pricing",
    "PricingRules",
    "Promotion",
    "Quote",
    "QuoteLine",
    "QuoteSigner",
    "QuoteTerms",
    "SupplyDemand",
    "SurgeBoard",
    "Weather",
    "compile_area",
    "price_lines",
]
