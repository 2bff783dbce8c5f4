module example.invalid/ao-fixture

go 1.19
