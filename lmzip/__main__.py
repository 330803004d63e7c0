from lmzip.cli import main_lmzip

main_lmzip()
