from buildctl.cli import main

main()
