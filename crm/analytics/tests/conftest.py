import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
SIMULATED_AS_OF = datetime.date(2026, 6, 30)  # the as-of date of the refresh tests


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


@pytest.fixture
def simulated(org):
    """400 customers with purchases simulated from a BG/NBD model (r 0.5, α 10 weeks, a 0.8, b 2.5) and
    Gamma-Gamma spend, enough history for both models to fit."""
    from crm.analytics.models import AnalyticsSettings
    from crm.analytics.stats.simulate import simulate_bgnbd
    from crm.customers.models import Customer
    from crm.sales.models import Order

    rng = np.random.default_rng(7)
    n = 400
    ages = rng.integers(20 * 7, 100 * 7, n)
    x, t_x = simulate_bgnbd((0.5, 10.0, 0.8, 2.5), ages / 7, rng)
    customers = Customer.objects.bulk_create([Customer(name=f"模拟{i}", owner=org.rep, branch=org.bj1)
                                              for i in range(n)])
    orders = []
    # Spend per purchase ~ Gamma(p 6, rate ν) with ν ~ Gamma(q 4, rate 100) across customers (a mean of about
    # 200): the Gamma-Gamma model needs customers that differ in spend to be identifiable.
    spend_scale = 1 / rng.gamma(4, 1 / 100, n)
    for customer, age, repeats, last, scale in zip(customers, ages.tolist(), x.tolist(), (t_x * 7).tolist(),
                                                   spend_scale.tolist(), strict=True):
        first = SIMULATED_AS_OF - datetime.timedelta(days=age)  # test data only: a loop is fine here
        last = min(max(int(round(last)), repeats), age)
        earlier = rng.choice(np.arange(1, last), size=repeats - 1, replace=False).tolist() if repeats > 1 else []
        days = [0, *sorted(earlier), last] if repeats else [0]
        for day in days:
            amount = Decimal(str(round(float(rng.gamma(6, scale)) + 1, 2)))
            orders.append(Order(customer=customer, order_date=first + datetime.timedelta(days=day),
                                total_amount=amount, gross_margin=(amount * Decimal("0.3")).quantize(Decimal("0.01")),
                                list_amount=amount))
    Order.objects.bulk_create(orders)
    settings = AnalyticsSettings.load()
    settings.lookback_days = None
    settings.clv_basis = "revenue"
    settings.annual_discount_rate = 0
    settings.save()
    return customers
