"""What both gateways' SDKs and sandboxes do alike and own once: a table of the readings their
docs leave open (``readings``), and the guard that keeps a sandbox's controls for its owner
(``sandbox_guard``). No Flask import outside the guard, which only sandboxes use."""
