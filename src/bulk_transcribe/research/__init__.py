"""From a research question to videos worth transcribing: search YouTube, plan, filter, export."""
