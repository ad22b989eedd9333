from codeetl.cli import main

main()
