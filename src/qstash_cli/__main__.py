from qstash_cli.app import main

main()
