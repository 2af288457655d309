"""The product catalogue and the dealers of the demo company, and the rows that store them.

Products are built from product lines (a name, a unit, a price and the sizes it comes in) and the
brands a Chinese industrial-supplies distributor carries.  List price against standard cost gives a
gross margin that depends on the category: thin on power tools and lubricants, fat on fasteners,
abrasives and safety wear.
"""

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from crm.sales.models import ChannelPartner, Product, ProductCategory

# code, name, margin range (share of the list price), brands
CATEGORIES = [
    ("ZC", "轴承", (0.18, 0.32), ["人本", "哈轴", "瓦轴", "洛轴", "SKF", "NSK"]),
    ("JG", "紧固件", (0.30, 0.45), ["晋亿", "东明", "标五", "上标"]),
    ("DG", "电动工具", (0.10, 0.22), ["博世", "东成", "牧田", "得伟", "大艺"]),
    ("LB", "劳保用品", (0.28, 0.42), ["3M", "代尔塔", "霍尼韦尔", "梅思安", "星宇"]),
    ("RH", "润滑油", (0.10, 0.20), ["长城", "昆仑", "美孚", "壳牌", "嘉实多"]),
    ("FM", "阀门管件", (0.22, 0.38), ["上海沪工", "苏阀", "良工", "永嘉"]),
    ("DQ", "电气元件", (0.15, 0.30), ["正泰", "德力西", "施耐德", "明纬", "欧姆龙"]),
    ("YB", "仪器仪表", (0.20, 0.35), ["福禄克", "胜利", "优利德", "红旗", "得力"]),
    ("SG", "手动工具", (0.25, 0.38), ["世达", "史丹利", "长城精工", "钢盾"]),
    ("HJ", "焊接材料", (0.12, 0.25), ["大西洋", "金桥", "瑞凌", "奥太"]),
    ("ML", "磨料磨具", (0.30, 0.45), ["3M", "华辉", "锋利", "白鸽"]),
    ("QD", "气动液压", (0.20, 0.35), ["亚德客", "SMC", "费斯托", "恒立"]),
]

# category code -> [(product line, unit, price of the first size in yuan, sizes, price factor per size)]
LINES = {
    "ZC": [
        ("深沟球轴承", "套", 9.5, ["6201-2RS", "6202-2RS", "6204-2RS", "6205ZZ", "6206ZZ", "6305-2RS", "6308ZZ"], 1.35),
        ("圆锥滚子轴承", "套", 38, ["30205", "30206", "30308", "32210", "32312"], 1.45),
        ("调心球轴承", "套", 45, ["1206K", "1208K", "2210K"], 1.4),
        ("带座外球面轴承", "套", 52, ["UCP204", "UCP205", "UCP206", "UCF208"], 1.25),
        ("角接触球轴承", "套", 86, ["7205B", "7206B", "7208B"], 1.4),
        ("推力球轴承", "套", 18, ["51105", "51106", "51110"], 1.3),
    ],
    "JG": [
        ("8.8级镀锌六角螺栓", "盒", 28, ["M6×20", "M8×30", "M10×40", "M12×50", "M16×60"], 1.45),
        ("12.9级内六角圆柱头螺钉", "盒", 36, ["M5×16", "M6×20", "M8×25", "M10×30"], 1.4),
        ("304不锈钢六角螺母", "盒", 22, ["M6", "M8", "M10", "M12"], 1.35),
        ("碳钢膨胀螺栓", "盒", 45, ["M8×80", "M10×100", "M12×120"], 1.3),
        ("十字盘头自攻螺钉", "千只", 38, ["ST3.5×16", "ST4.2×19", "ST4.8×25"], 1.3),
        ("平垫圈弹簧垫圈套装", "盒", 18, ["M6", "M8", "M10", "M12"], 1.25),
    ],
    "DG": [
        ("锂电冲击钻", "台", 680, ["12V", "18V", "18V无刷"], 1.4),
        ("电锤", "台", 460, ["20mm", "26mm", "32mm"], 1.35),
        ("角磨机", "台", 260, ["100mm", "125mm", "150mm"], 1.3),
        ("电动扳手", "台", 520, ["300N·m", "500N·m"], 1.5),
        ("型材切割机", "台", 1180, ["355mm"], 1.0),
    ],
    "LB": [
        ("KN95防护口罩", "盒", 95, ["耳戴式", "头戴式"], 1.3),
        ("钢包头安全鞋", "双", 168, ["低帮", "中帮", "防刺穿"], 1.25),
        ("ABS安全帽", "顶", 26, ["V型", "一字型", "透气型"], 1.2),
        ("防割手套", "打", 120, ["3级", "5级"], 1.4),
        ("全身式安全带", "套", 158, ["单钩", "双钩"], 1.3),
        ("防冲击护目镜", "副", 32, ["透明", "防雾"], 1.3),
        ("反光背心", "件", 15, ["网布", "涤纶"], 1.3),
    ],
    "RH": [
        ("L-HM抗磨液压油", "桶", 320, ["32号 18L", "46号 18L", "68号 18L", "46号 200L"], 1.6),
        ("工业闭式齿轮油", "桶", 420, ["220号 18L", "320号 18L", "220号 200L"], 2.2),
        ("锂基润滑脂", "桶", 260, ["2号 15kg", "3号 15kg"], 1.1),
        ("水溶性切削液", "桶", 380, ["18L", "200L"], 6.5),
    ],
    "FM": [
        ("不锈钢球阀", "个", 68, ["DN15", "DN25", "DN40", "DN50"], 1.6),
        ("法兰闸阀", "台", 420, ["DN50", "DN80", "DN100"], 1.5),
        ("对夹蝶阀", "台", 180, ["DN50", "DN80", "DN100", "DN150"], 1.45),
        ("止回阀", "个", 95, ["DN25", "DN50", "DN80"], 1.6),
        ("镀锌弯头", "个", 4.5, ["DN20", "DN25", "DN50"], 1.8),
        ("碳钢平焊法兰", "片", 38, ["DN50 PN16", "DN80 PN16", "DN100 PN16"], 1.4),
    ],
    "DQ": [
        ("小型断路器", "只", 18, ["1P C16", "2P C32", "3P C63"], 1.9),
        ("交流接触器", "只", 65, ["CJX2-1810", "CJX2-3210", "CJX2-6511"], 1.9),
        ("热过载继电器", "只", 58, ["NR2-25", "NR2-36"], 1.3),
        ("中间继电器", "只", 16, ["MY2NJ", "MY4NJ"], 1.2),
        ("开关电源", "台", 120, ["24V 150W", "24V 350W", "12V 200W"], 1.4),
        ("RVV护套电缆", "卷", 390, ["3×1.5", "3×2.5", "5×4"], 1.7),
    ],
    "YB": [
        ("数字万用表", "台", 320, ["17B+", "15B+", "18B+"], 1.3),
        ("压力表", "块", 38, ["0-1.6MPa", "0-2.5MPa", "0-4MPa"], 1.15),
        ("数显游标卡尺", "把", 150, ["0-150mm", "0-200mm", "0-300mm"], 1.5),
        ("红外测温仪", "台", 260, ["-50~550℃", "-50~800℃"], 1.5),
        ("钳形电流表", "台", 420, ["600A", "1000A"], 1.6),
    ],
    "SG": [
        ("套筒扳手套装", "套", 280, ["32件", "46件", "120件"], 1.6),
        ("钢丝钳", "把", 35, ["7寸", "8寸"], 1.15),
        ("螺丝刀套装", "套", 68, ["12件", "32件"], 1.5),
        ("重型管钳", "把", 78, ["14寸", "18寸", "24寸"], 1.4),
        ("钢卷尺", "把", 18, ["5米", "7.5米", "10米"], 1.3),
    ],
    "HJ": [
        ("碳钢焊条", "包", 42, ["J422 Φ2.5", "J422 Φ3.2", "J506 Φ3.2", "J507 Φ4.0"], 1.15),
        ("气保焊丝", "盘", 135, ["ER50-6 Φ1.0", "ER50-6 Φ1.2"], 1.05),
        ("逆变直流焊机", "台", 1380, ["ZX7-250", "ZX7-315", "ZX7-400"], 1.35),
    ],
    "ML": [
        ("树脂切割片", "盒", 48, ["105×1.2", "125×1.2", "355×3.0"], 1.6),
        ("百叶片", "盒", 56, ["100mm 60目", "100mm 80目", "125mm 80目"], 1.15),
        ("砂轮片", "盒", 64, ["100×6", "125×6", "150×6"], 1.3),
    ],
    "QD": [
        ("标准气缸", "只", 165, ["SC32×50", "SC40×100", "SC50×100", "SC63×150"], 1.35),
        ("二位五通电磁阀", "只", 88, ["4V210-08", "4V310-10"], 1.35),
        ("PU气管", "卷", 75, ["PU6×4", "PU8×5", "PU10×6.5"], 1.3),
        ("过滤减压阀", "只", 110, ["AFR2000", "AFR3000"], 1.3),
    ],
}

# Which categories each industry buys most (weights by category code; the rest share a small weight).
INDUSTRY_CATEGORY_WEIGHTS = {
    "manufacturing": {"ZC": 5, "JG": 4, "RH": 3, "QD": 3, "ML": 3, "DQ": 2, "SG": 2, "LB": 2, "HJ": 2},
    "wholesale_retail": {"JG": 4, "DG": 4, "SG": 4, "LB": 3, "ZC": 2, "DQ": 2},
    "construction": {"JG": 5, "LB": 5, "DG": 4, "HJ": 3, "FM": 3, "ML": 2, "SG": 2},
    "energy": {"DQ": 5, "YB": 4, "FM": 4, "LB": 3, "RH": 2},
    "logistics": {"LB": 4, "RH": 3, "SG": 3, "ZC": 2},
    "it": {"DQ": 4, "YB": 3, "SG": 2, "LB": 1},
    "telecom": {"DQ": 5, "YB": 3, "SG": 2},
    "real_estate": {"FM": 4, "DQ": 3, "LB": 3, "SG": 2},
    "healthcare": {"LB": 4, "FM": 2, "DQ": 2, "YB": 2},
    "government": {"FM": 4, "LB": 4, "DQ": 3, "SG": 2},
    "agriculture": {"RH": 3, "FM": 3, "ZC": 2, "SG": 2},
}

# Dealers: (name, branch region, city) — contact persons and phones are drawn by the faker.
PARTNERS = [
    ("唐山金泰五金经销部", "beijing", "唐山"), ("廊坊宏达工业品商行", "beijing", "廊坊"),
    ("保定顺通机电设备经销处", "beijing", "保定"), ("石家庄恒信五金交电有限公司", "beijing", "石家庄"),
    ("北京京南兴业五金机电商店", "beijing", "北京"), ("天津滨海鑫源工业品有限公司", "tianjin", "天津"),
    ("天津武清永盛五金经营部", "tianjin", "天津"), ("苏州鸿运工业品商行", "shanghai", "苏州"),
    ("无锡锡能机电设备有限公司", "shanghai", "无锡"), ("南京宁丰五金机电经营部", "shanghai", "南京"),
    ("杭州萧山华源五金商行", "shanghai", "杭州"), ("宁波北仑港通机电有限公司", "shanghai", "宁波"),
    ("上海嘉定安顺五金经营部", "shanghai", "上海"), ("东莞长安联丰五金机电商行", "guangzhou", "东莞"),
    ("佛山顺德广利工业品经营部", "guangzhou", "佛山"), ("深圳宝安鑫达五金机电有限公司", "guangzhou", "深圳"),
    ("广州白云粤通五金交电商行", "guangzhou", "广州"), ("珠海金湾海润机电设备部", "guangzhou", "珠海"),
    ("厦门湖里闽兴工业品商行", "guangzhou", "厦门"), ("福州仓山融达五金经营部", "guangzhou", "福州"),
]


@dataclass
class Catalog:
    """The catalogue as arrays, for vectorised order lines: products sorted by category."""

    product_ids: np.ndarray      # int64
    category: np.ndarray         # index into ``category_codes`` per product
    price: np.ndarray            # list price in cents (int64)
    cost: np.ndarray             # standard cost in cents (int64)
    popularity: np.ndarray       # relative demand within the category
    category_codes: list
    category_start: np.ndarray   # first product index of each category
    category_count: np.ndarray
    partners: dict               # region -> array of partner ids

    @property
    def margin_pct(self):
        return np.floor(100 * (self.price - self.cost) / np.maximum(self.price, 1))

    def category_weights(self, industry: str) -> np.ndarray:
        preferred = INDUSTRY_CATEGORY_WEIGHTS.get(industry, {})
        return np.array([preferred.get(code, 0.6) for code in self.category_codes], dtype=float)


def _nice_price(yuan: float) -> Decimal:
    """Prices as a shop writes them: 9.50, 38.00, 468.00, 1,380.00."""
    if yuan < 20:
        return Decimal(str(round(yuan * 2) / 2)).quantize(Decimal("0.01"))
    if yuan < 200:
        return Decimal(round(yuan)).quantize(Decimal("0.01"))
    return Decimal(round(yuan / 10) * 10 - (2 if yuan > 500 else 0)).quantize(Decimal("0.01"))


def build_catalog(rng: np.random.Generator, faker=None) -> Catalog:
    """Categories, products and dealers in the database (created when missing), as a :class:`Catalog`."""
    if not Product.objects.exists():
        _create_products(rng)
    if not ChannelPartner.objects.exists() and faker is not None:
        _create_partners(faker)
    return load_catalog()


def _create_products(rng):
    categories = {}
    for code, name, _margin, _brands in CATEGORIES:
        categories[code] = ProductCategory.objects.create(code=code, name=name)
    products = []
    for code, _name, (low, high), brands in CATEGORIES:
        seq = 0
        for line_no, (line, unit, base, sizes, step) in enumerate(LINES[code]):
            line_brands = rng.choice(brands, size=min(len(brands), 1 + int(rng.integers(1, 3))), replace=False)
            for b_no, brand in enumerate(line_brands):
                brand_factor = 1.0 + 0.18 * b_no + (0.35 if brand in {"SKF", "NSK", "博世", "福禄克", "施耐德", "美孚",
                                                                      "壳牌", "3M", "SMC", "费斯托", "牧田"} else 0)
                for s_no, size in enumerate(sizes):
                    seq += 1
                    price = _nice_price(base * step ** s_no * brand_factor * float(rng.uniform(0.93, 1.07)))
                    margin = float(rng.uniform(low, high))
                    cost = (price * Decimal(str(round(1 - margin, 4)))).quantize(Decimal("0.01"))
                    products.append(Product(
                        code=f"{code}{line_no + 1:02d}{seq:03d}", name=f"{brand} {line} {size}",
                        category=categories[code], unit=unit, list_price=price, standard_cost=cost,
                        custom_fields={"brand": brand, "spec": size},
                    ))
    Product.objects.bulk_create(products, batch_size=500)


def _create_partners(faker):
    rng = faker.rng
    rows = []
    for name, region, _city in PARTNERS:
        person = faker.person()
        place = faker.places[region][0]
        rows.append(ChannelPartner(name=name, region=region, contact_name=person.text,
                                   phone=faker.mobile() if rng.random() < 0.7 else faker.landline(place)))
    ChannelPartner.objects.bulk_create(rows)


def load_catalog() -> Catalog:
    codes = list(ProductCategory.objects.order_by("code").values_list("code", flat=True))
    index = {c: i for i, c in enumerate(codes)}
    rows = list(Product.objects.filter(active=True).order_by("category__code", "code")
                .values_list("pk", "category__code", "list_price", "standard_cost"))
    if not rows:
        raise RuntimeError("No active product: create the catalogue first (crm seed_demo).")
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    category = np.array([index.get(r[1], 0) for r in rows], dtype=np.int64)
    price = np.array([int(r[2] * 100) for r in rows], dtype=np.int64)
    cost = np.array([int(r[3] * 100) for r in rows], dtype=np.int64)
    # A few best sellers per category: popularity falls with the rank (Zipf), rank from the code order.
    popularity = np.empty(len(rows))
    start = np.zeros(len(codes), dtype=np.int64)
    count = np.zeros(len(codes), dtype=np.int64)
    for c in range(len(codes)):
        members = np.flatnonzero(category == c)
        if len(members):
            start[c], count[c] = members[0], len(members)
            ranks = np.random.default_rng(c).permutation(len(members)) + 1
            popularity[members] = 1.0 / ranks ** 0.9
    partners = {}
    for pk, region in ChannelPartner.objects.filter(active=True).order_by("pk").values_list("pk", "region"):
        partners.setdefault(region, []).append(pk)
    return Catalog(ids, category, price, cost, popularity, codes, start, count,
                   {k: np.array(v, dtype=np.int64) for k, v in partners.items()})


STOCK_COLUMNS = ["product_id", "occurred_on", "kind", "quantity", "unit_cost", "reference", "created_by_id",
                 "created_at"]


def stock_movements(catalog: Catalog, *, l_product, l_quantity, o_day, o_status, l_order, first_day: int, today: int,
                    rng: np.random.Generator) -> dict:
    """Stock history that matches the orders: an opening balance, goods shipped per product and week
    (delivered, paid and returned orders, a few days after the order), customer returns, a receipt
    from the supplier every month sized to cover the next month's shipments with a safety margin, and
    a stock-take adjustment now and then.  Returns columns (days as day numbers) and the stock on hand."""
    from .history import DELIVERED, PAID, RETURNED

    n_products = len(catalog.product_ids)
    by_id = np.argsort(catalog.product_ids)
    index = by_id[np.searchsorted(catalog.product_ids[by_id], l_product)]
    shipped = np.isin(o_status[l_order], [DELIVERED, PAID, RETURNED])
    ship_day = o_day[l_order] + rng.integers(1, 4, size=len(l_order))
    ship_day = np.minimum(ship_day, today - 1)
    week = (ship_day - first_day) // 7
    n_weeks = int((today - first_day) // 7 + 1)
    weekly = np.zeros((n_products, n_weeks))
    np.add.at(weekly, (index[shipped], week[shipped]), l_quantity[shipped])
    returned = o_status[l_order] == RETURNED
    return_week = np.minimum(week + 2, n_weeks - 1)
    weekly_returns = np.zeros((n_products, n_weeks))
    np.add.at(weekly_returns, (index[returned], return_week[returned]), l_quantity[returned])
    # Months as blocks of four weeks (a receipt at the start of each block).
    blocks = (n_weeks + 3) // 4
    padded = np.zeros((n_products, blocks * 4))
    padded[:, :n_weeks] = weekly - weekly_returns
    need = padded.reshape(n_products, blocks, 4).sum(axis=2)
    safety = np.ceil(np.maximum(need.mean(axis=1), 1) * 0.5)
    rows = {k: [] for k in ("product", "day", "kind", "quantity", "reference")}

    def add(product_idx, day, kind, quantity, reference):
        rows["product"].append(product_idx)
        rows["day"].append(day)
        rows["kind"].append(np.full(len(product_idx), kind, dtype=object))
        rows["quantity"].append(quantity)
        rows["reference"].append(reference)

    everyone = np.arange(n_products)
    stock = np.ceil(need[:, 0] * 1.2 + safety)
    add(everyone, np.full(n_products, first_day), "opening", stock.copy(),
        np.full(n_products, "期初库存", dtype=object))
    for block in range(blocks):
        day = first_day + block * 28
        if block:
            receipt = np.maximum(np.ceil(need[:, block] * 1.15 + safety - stock), 0)
            has = receipt > 0
            ref = np.array([f"CG{_date(day):%Y%m}-{i + 1:04d}" for i in range(int(has.sum()))], dtype=object)
            add(everyone[has], np.full(int(has.sum()), day), "receipt", receipt[has], ref)
            stock += receipt
        stock -= need[:, block]
        if block % 3 == 2:  # quarterly stock-take: small differences on a few products
            chosen = rng.random(n_products) < 0.12
            delta = -np.minimum(rng.integers(1, 4, size=n_products), np.maximum(stock, 0))[chosen]
            nonzero = delta != 0
            add(everyone[chosen][nonzero], np.full(int(nonzero.sum()), min(day + 27, today - 1)), "adjustment",
                delta[nonzero], np.full(int(nonzero.sum()), "季度盘点差异", dtype=object))
            stock[chosen] += delta
    out_idx, out_week = np.nonzero(weekly)
    add(out_idx, first_day + out_week * 7 + 4, "shipment", -weekly[out_idx, out_week],
        np.array([f"发货汇总 {_date(first_day + w * 7):%Y}第{_date(first_day + w * 7).isocalendar()[1]}周"
                  for w in out_week.tolist()], dtype=object))
    ret_idx, ret_week = np.nonzero(weekly_returns)
    add(ret_idx, first_day + ret_week * 7 + 2, "return", weekly_returns[ret_idx, ret_week],
        np.full(len(ret_idx), "客户退货入库", dtype=object))
    product_idx = np.concatenate(rows["product"])
    quantity = np.concatenate(rows["quantity"])
    days = np.minimum(np.concatenate(rows["day"]), today - 1)
    on_hand = np.bincount(product_idx, weights=quantity, minlength=n_products)
    return {
        "product_id": catalog.product_ids[product_idx], "day": days,
        "kind": np.concatenate(rows["kind"]), "quantity": quantity, "unit_cost": catalog.cost[product_idx],
        "reference": np.concatenate(rows["reference"]), "on_hand": on_hand,
    }


def _date(day: int):
    import datetime

    return datetime.date(1970, 1, 1) + datetime.timedelta(days=int(day))
