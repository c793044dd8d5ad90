from bulk_transcribe.cli.main import main

main()
