"""Chart builders: pure functions from results to plotly/altair figures."""
