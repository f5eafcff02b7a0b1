"""From observations to incidents: the agreement's rules, correlation, line crossings."""
