"""The ZigZag simulator as a hardware model (registered by .sim): workload, driver, cache, model."""
