from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def cdnow():
    """The CDNOW sample as arrays: sequential customer number, date (datetime64[D]), amount."""
    rows = [line.split() for line in (DATA / "CDNOW_sample.txt").read_text().splitlines() if line.strip()]
    customer = np.array([int(r[1]) for r in rows])
    date = np.array([f"{r[2][:4]}-{r[2][4:6]}-{r[2][6:]}" for r in rows], dtype="datetime64[D]")
    amount = np.array([float(r[4]) for r in rows])
    return customer, date, amount


@pytest.fixture(scope="session")
def cdnow_csv(tmp_path_factory):
    """The CDNOW sample rewritten as a CSV file with a header, as a user would export it."""
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    lines = ["customer,number,date,cds,amount"]
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        if line.strip():
            lines.append(",".join(line.split()))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
