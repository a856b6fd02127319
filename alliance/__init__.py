"""Cross-industry alliances (异业联盟): partner offers, attribution and commission, member segments,
contribution reports. No gRPC below `alliance.api`."""

from alliance.engine import Alliances
from alliance.keys import AllianceKeys
from alliance.models import Alliance, AllianceMerchant, MemberAggregates, Offer, OfferContribution, Segment, Trigger

__all__ = [
    "Alliance",
    "AllianceKeys",
    "AllianceMerchant",
    "Alliances",
    "MemberAggregates",
    "Offer",
    "OfferContribution",
    "Segment",
    "Trigger",
]
