"""Static facts behind the catalog: dataset sizes, download locations and checksums.

Sizes and sha256 sums are those of the verified copies described in ``shared/datasets/SOURCES.md``
(UCR 2018 ``.tsv`` files, UEA 2018 ``.ts`` files, ETDataset CSVs).
"""

from __future__ import annotations

ETT_URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/{name}.csv"
# Autoformer-layout exchange_rate.csv (date + 8 series), pinned to the commit the checksum was taken from.
EXCHANGE_RATE_URL = (
    "https://raw.githubusercontent.com/junwoopark92/Self-Supervised-Contrastive-Forecsating/"
    "e20c108114cf68d451c938712ad28dac5f83ef6e/dataset/exchange_rate/exchange_rate.csv"
)
# timeseriesclassification.com serves one zip per dataset, not single files: shown as the homepage.
UPSTREAM_ARCHIVE = "https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip"
ELECTRICITY_HOME = "https://archive.ics.uci.edu/dataset/321/electricityloaddiagrams20112014"
WEATHER_HOME = "https://www.bgc-jena.mpg.de/wetter/"

ETT_COLUMNS = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]

# (name, folder in the fetch layout, single-file URL or None, size hint, column names for the default target)
FORECASTING: list[tuple[str, str, str | None, str, list[str]]] = [
    ("ETTh1", "ETT", ETT_URL.format(name="ETTh1"), "17420 steps x 7, hourly", ETT_COLUMNS),
    ("ETTh2", "ETT", ETT_URL.format(name="ETTh2"), "17420 steps x 7, hourly", ETT_COLUMNS),
    ("ETTm1", "ETT", ETT_URL.format(name="ETTm1"), "69680 steps x 7, 15 min", ETT_COLUMNS),
    ("ETTm2", "ETT", ETT_URL.format(name="ETTm2"), "69680 steps x 7, 15 min", ETT_COLUMNS),
    ("electricity", "forecasting", None, "26304 steps x 321, hourly", ["MT_001"]),
    ("weather", "forecasting", None, "52696 steps x 21, 10 min", ["OT"]),
    ("exchange_rate", "forecasting", EXCHANGE_RATE_URL, "7588 steps x 8, daily", ["OT"]),
]
FORECASTING_HOMEPAGES = {"electricity": ELECTRICITY_HOME, "weather": WEATHER_HOME}

# (name, n_train, n_test, length, n_classes)
UCR_DATASETS: list[tuple[str, int, int, int, int]] = [
    ("ArrowHead", 36, 175, 251, 3),
    ("BeetleFly", 20, 20, 512, 2),
    ("CBF", 30, 900, 128, 3),
    ("ChlorineConcentration", 467, 3840, 166, 3),
    ("Coffee", 28, 28, 286, 2),
    ("DistalPhalanxOutlineCorrect", 600, 276, 80, 2),
    ("ECG200", 100, 100, 96, 2),
    ("ECGFiveDays", 23, 861, 136, 2),
    ("ElectricDevices", 8926, 7711, 96, 7),
    ("FaceFour", 24, 88, 350, 4),
    ("FordA", 3601, 1320, 500, 2),
    ("GunPoint", 50, 150, 150, 2),
    ("Ham", 109, 105, 431, 2),
    ("ItalyPowerDemand", 67, 1029, 24, 2),
    ("Lightning2", 60, 61, 637, 2),
    ("MoteStrain", 20, 1252, 84, 2),
    ("Plane", 105, 105, 144, 7),
    ("ProximalPhalanxOutlineCorrect", 600, 291, 80, 2),
    ("SonyAIBORobotSurface1", 20, 601, 70, 2),
    ("SonyAIBORobotSurface2", 27, 953, 65, 2),
    ("SyntheticControl", 300, 300, 60, 6),
    ("ToeSegmentation1", 40, 228, 277, 2),
    ("Trace", 100, 100, 275, 4),
    ("TwoLeadECG", 23, 1139, 82, 2),
]

# (name, n_train, n_test, channels, length, n_classes)
UEA_DATASETS: list[tuple[str, int, int, int, str, int]] = [
    ("AtrialFibrillation", 15, 15, 2, "640", 3),
    ("BasicMotions", 40, 40, 6, "100", 4),
    ("ERing", 30, 270, 4, "65", 6),
    ("JapaneseVowels", 270, 370, 12, "7-29", 9),
    ("NATOPS", 180, 180, 24, "51", 6),
    ("PenDigits", 7494, 3498, 2, "8", 10),
    ("RacketSports", 151, 152, 6, "30", 4),
    ("UWaveGestureLibrary", 120, 320, 3, "315", 8),
]

# Copies shipped inside the aeon package (aeon/datasets/data/), loadable without any download.
AEON_BUNDLED = frozenset({"GunPoint", "BasicMotions", "JapaneseVowels", "ItalyPowerDemand", "ArrowHead"})

# sha256 of each file, keyed by file name (``sha256sum`` output format).
_SHA256_SUMS = """
f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066  ETTh1.csv
a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b  ETTh2.csv
6bc7a83f66c0651d95fefefb2560011d6a877b6ca4c113dda1c07aeaed4737e2  ArrowHead_TEST.tsv
04bb9fd2827650d3ec2f384507f083fbd4c3748f919cbace3831f87e0aff06a7  ArrowHead_TRAIN.tsv
dad1cc930595c570abe8f047c8a29758ef192f8b7306973f876e6db61abcf3c0  BeetleFly_TEST.tsv
636d819c61536893bc079e3656adf59593be103b17903358b682131f2230e22e  BeetleFly_TRAIN.tsv
9485e783f961cbc6343f7da504fd8f6f9502e9000fd379bc60c688ff5d637965  CBF_TEST.tsv
eb25c656d86a28328bca2a3c4bd0dcd54f27546b6a83f84a635cf581a55cead4  CBF_TRAIN.tsv
5f53255d7b357f97b82c464c68bab102c24d4a4841d5d719804bb10cac98cbdd  ChlorineConcentration_TEST.tsv
8b9e3a5196bb114def12785495934c653e206ec4278e61efa9fbbf1f6a4185df  ChlorineConcentration_TRAIN.tsv
07f25cedb9fd819a201e7de6abbdc444695b4b16ee70295010e401f18c38babd  Coffee_TEST.tsv
a722ab8acd6c18b11b8fa835fbe523fc072e6ce4434b44d7919fa95152d377bf  Coffee_TRAIN.tsv
8a4d88d68ffc10d49be1605906dd86ca8c1147c7beba83c74bd1844d7242a899  DistalPhalanxOutlineCorrect_TEST.tsv
981002fc4e15fee89426a9d71ba1ce442a438cee04eb3d2f39b7ad1f77f68d44  DistalPhalanxOutlineCorrect_TRAIN.tsv
c8ac02caf98be23c47c044fde026219301ceaf0b2f97bc107bd0cd96330b867c  ECG200_TEST.tsv
bd08b37147ebf205231ad43e02c42dd5c14bc348f4ccc7614f85634c8916bf21  ECG200_TRAIN.tsv
bb9706f13954be81bf9b47aa6e8634e94f11fdee93237e3c039d8822eef4439f  ECGFiveDays_TEST.tsv
e81cc7d1b974324b432ce50bc6e9dac88e3111ffd46dccd1df1e4863e82022c3  ECGFiveDays_TRAIN.tsv
64ea1c73040b8c60ef63ebb4a36dc1c4b56b027f9a1dff342469dbf3853a3a20  ElectricDevices_TEST.tsv
bf9b3e4ebb4bcecc4fe5ef36b5cde85383a78a9c7e83ed2834b00e440feb4d20  ElectricDevices_TRAIN.tsv
72716dfe414e3c33255337f747c5c3aa7d8ba3073c3c62a50732c0abbfe8898f  FaceFour_TEST.tsv
fc607f610415432fef99fd19df6524758c1570b9cafd2c71d5afa06f9e922b02  FaceFour_TRAIN.tsv
02a17aab8794822957f7d50e3f6904f10b7dfa5c858bbb2b8047c4b0c64bbefe  FordA_TEST.tsv
f80f6df3336194b2d52bb29fc41c980e7f0a809c80a5c5b79121d74622e0a7de  FordA_TRAIN.tsv
5537eb2f3050e1514f3221b5f4c9799b350fb229ea15eed9e78bbae855505ccf  GunPoint_TEST.tsv
4d14e4f44a6230087cb4b4ed7844c8b0feb76f07a76108cc367d689e0de8f609  GunPoint_TRAIN.tsv
eccf0659700d881b8e5767dd953c314a5e6165f83bea4764e304df8db1360770  Ham_TEST.tsv
afff41bef3b95137b37e3fc22c320452e336c344c966cf9854b9f9756ab3c69e  Ham_TRAIN.tsv
ab22aa53de4ef55f2e2bcbf0518565704aeec8d76f48ef1180903bf5814c47fc  ItalyPowerDemand_TEST.tsv
fab46ef99232ada65773ed89b131954a91ec1da69803159cb1566f320dbaf22e  ItalyPowerDemand_TRAIN.tsv
0303f4100f7b728a8782f1a1e97562a4e6b4ec4c24733ac126391630ddc27c3a  Lightning2_TEST.tsv
3d83a87ed1f166b6b57fe4201e943499422bb29ca000299b901dd34f1545ac56  Lightning2_TRAIN.tsv
274054773af4248858e904af818b45748374c8d092aa72c001fbc422062cf88f  MoteStrain_TEST.tsv
ebd2f254f42f7399a754fb94cbea230eaa48b21c10fc58fa5dc68eb1cd658633  MoteStrain_TRAIN.tsv
4bbca4e4355bf5fb56f0609203ca5fa652851770e50accfe8abec3dd82aaeca8  Plane_TEST.tsv
7634899348f59dc7d45f4bedfdca8545610cc0673652b9ab9040d5830db059f5  Plane_TRAIN.tsv
02708a5134d70c5e0a0ab33c7ef254f1934576a31d8fac92f3d941383c9e737d  ProximalPhalanxOutlineCorrect_TEST.tsv
cc8d37103f5b286b4c7aee18b55837104b3199c9118f0004df8534e9c4c36df4  ProximalPhalanxOutlineCorrect_TRAIN.tsv
b65c5401130e362f6c2c26c9afdab8011664875329d48e7e514d445fd0ac932c  SonyAIBORobotSurface1_TEST.tsv
71487dd296ad3ccd82c07b2f412dad54620464c01737c2936c84f794fdafd3e2  SonyAIBORobotSurface1_TRAIN.tsv
cd1a080edf800eaadf811d59fd6e4e5913d4673232c3359768b6c7821a647887  SonyAIBORobotSurface2_TEST.tsv
247ee1c6f2f29b1ba716bc520e6b629f0f84812c3d3ef655cb3a792ad8624867  SonyAIBORobotSurface2_TRAIN.tsv
cd44464b200820913f928a952af78d512ee3924f6243053d28a6d45c0aacdb76  SyntheticControl_TEST.tsv
58af636cbd5592bdda45ba638629e40f17c08354aa545a61fd41b92582bdd176  SyntheticControl_TRAIN.tsv
c79797439bd9c8ebd4aaf4d5ee9555033db4aa4d7506002e4cb6c8ef72526d2d  ToeSegmentation1_TEST.tsv
ac11daa3a328c64f5dfb2618e95495f88a7275628d8451b01234df7753cb88ff  ToeSegmentation1_TRAIN.tsv
719d719c25d1fb60ffd39d8d999c9e82927b32c0501150f42014cb2941040e1c  Trace_TEST.tsv
4a47b31e5614c8d304a5f53d5cb4b188892ce1f6459e768b0ae90e8a2b3f03fc  Trace_TRAIN.tsv
18dd890ee9963869e22b137aa4e54736d2b2384251a20ec831f2dc7620be2f3f  TwoLeadECG_TEST.tsv
63c29e3f7f0411b729c6c90732cb1c1c08f257a7130b15680f484e82d6ed17a8  TwoLeadECG_TRAIN.tsv
fed5ef4795417dd14513aa39233676d20f9dbc8d016acc71940ef3f74368ade7  AtrialFibrillation_TEST.ts
1037b09c03dfc9d9d6af0a32208519ae4697f6c86083d80dd4f57f7fc1f2cdc9  AtrialFibrillation_TRAIN.ts
ea93ab9f58faa6869c18bbe16a6dca0b02f174aa676af7568788a1a2a8e7e8da  BasicMotions_TEST.ts
3dcb66b389ba93ed2de7879bceb27548e0ea7a5ffb59888d0db36b59af2a0e28  BasicMotions_TRAIN.ts
2399c7d2bc7d8b57466441e9f499afdace7ff8353b8ebff090799b22aaa8f812  ERing_TEST.ts
582d9d14bcda44a4bb4b7dc37bb210df70b57e4bf030245ebf1c28ae7e59edab  ERing_TRAIN.ts
41760aefffc8e4dd221ae33954ddbab2df8c15fd66ca0efe08b744e962311ac2  JapaneseVowels_TEST.ts
72736f735163ce25d1dab5566a1115254601642db12c3b72b3ca5f49aafc95be  JapaneseVowels_TRAIN.ts
3a9a41a948c30d19db6b9e0ec44d946d42199c4f8724c2aa6e8b71b28612404e  NATOPS_TEST.ts
3567f0aa297e89327215ee1147537e06f7bdc51f48ac8d2c39aaa34fb1eab1b7  NATOPS_TRAIN.ts
ddd62484a72ebf058f8f0e0390ba3cdff174faa71397ff5336b2d4119ee76f6c  PenDigits_TEST.ts
4d24d1f0d4f477cfc3efeaa1aebacba53c8c145d99b7fa37b962139958c1f4af  PenDigits_TRAIN.ts
c8179bbde0e45f41218ce4a46258524ae7abca7d0e7e45f4424a23d1b1d98d8d  RacketSports_TEST.ts
f5374faaaf6a1aad9ca2ec26d0e39ba61f26b8a6d6bf1766a691027c1ca6f023  RacketSports_TRAIN.ts
517dbc817c3f181c64727a84ee8bd0cedd3554346042898b9107010b690c331a  UWaveGestureLibrary_TEST.ts
cb7cd8cb995775d30dacbfd5c2a9cb3a80dfbd186fd444294bae70c9162dead1  UWaveGestureLibrary_TRAIN.ts
6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e  ETTm1.csv
d55e7aa2641009814a18ba3279431b13f6d413b0eab195b9ff21988d8cf94e97  exchange_rate.csv
"""
SHA256: dict[str, str] = {name: digest for digest, name in (line.split() for line in _SHA256_SUMS.split("\n") if line)}
