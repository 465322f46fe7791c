"""The domain: an order's life, whatever gateway it is paid through. ``state`` owns the state
machine and how a gateway's statement is applied; ``service`` creates, checks, closes,
reconciles and takes webhook deliveries; ``refunds`` the refunds. No request objects here, and
no gateway's name: gateways are reached through ``shop.gateways``."""
