"""Who receives each event through xivo-websocketd 17.08 (docs/delivery.md)."""

from .codes import DELIVERY_CODES
from .matcher import Token, acl_matches, dispatch_of
from .profiles import ProfileError, load_concerns, load_profiles
from .simulate import Delivery, Simulator, token_delivery
from .stats import DeliveryStats, markdown_lines, text_lines

__all__ = ["DELIVERY_CODES", "Delivery", "DeliveryStats", "ProfileError", "Simulator", "Token",
           "acl_matches", "dispatch_of", "load_concerns", "load_profiles", "markdown_lines",
           "text_lines", "token_delivery"]
