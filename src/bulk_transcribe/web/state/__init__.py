"""What the web app keeps between reruns and across tabs: shared resources, runs, snapshots."""
