"""Understanding transcripts with an OpenAI-compatible chat model: one client inside a rate
budget (client.py), summaries and chapters (summaries.py), and answers to a question from the
passages found (passages.py, answers.py), every sentence citing its moments."""
