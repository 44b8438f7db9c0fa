"""Keyword half of runbook search: a tokeniser for mixed Chinese/English text and a precomputed BM25 scorer.

CJK runs go through jieba (search mode for indexed text, precise mode for queries); everything else is
lowercase word tokens, with compounds such as `php-fpm` or `pm.max_children` kept whole and also split into
parts, and a light English suffix folding (disks → disk, failing → fail). Zh and en text go through the same
function, so an English term inside a Chinese runbook matches the same term in an English query.

jieba is loaded lazily, once per process, only when some text has CJK characters. It always writes a
marshal cache of its dictionary; loading that cache costs as much as building the dictionary (≈ 0.9 s
either way, measured), so it is written into a private temporary directory that is deleted at once:
nothing lands in the repository or in a shared /tmp file another user could plant.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:[._+-][a-z0-9]+)*")
_PARTS = re.compile(r"[a-z0-9]+")
_ZH_KEEP = re.compile(r"\w")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


EN_STOPWORDS = _words(
    "a an and are as at be been but by can could do does doing did for from has have how i if in into is it its "
    "me my no not of on or our should so than that the their them then there these this to too up us was we "
    "were what when where which while who why will with would you your keeps keep still again help please "
    "about after before any all some get got"
)
ZH_STOPWORDS = _words(
    "的 了 是 在 和 与 及 或 吗 呢 啊 吧 呀 么 怎么 怎么办 怎么回事 如何 什么 为什么 为何 我 我们 你 你们 他 它 "
    "请 一下 这 那 这个 那个 这些 那些 有点 一直 还是 就 都 也 又 还 被 把 让 给 对 从 到 会 要 该 应该 可以 能 "
    "可能 需要 一个 没 不 很 太 得 地 着 过 后 时 时候 里 上 下 中 服务器 主机 机器 系统 排查 原因 问题 情况"
)


# Chinese ops vocabulary → English, so a Chinese query also matches English-only runbooks (and gives the
# English-centred embedding model words it knows). General terms only, "中文: english words" separated by |.
# Words that say nothing about the failure (server, host, investigate, cause) map to nothing: they are
# consumed so that 服务器 is not read as 服务 (service) + 器, and kept out of the keyword query.
_GLOSSARY_TEXT = """
磁盘: disk | 硬盘: disk drive | 分区: partition filesystem | 文件系统: filesystem | 空间: space | 满: full
使用率: usage | 占用: usage used | 容量: capacity | 清理: cleanup delete | 目录: directory | 大文件: large files
小文件: small files inode | 日志: log logs | 切割: rotation logrotate | 轮转: rotation logrotate
内存: memory ram | 内存条: dimm memory module | 扩容: upgrade capacity | 采购: procurement purchase buy
泄漏: leak | 泄露: leak | 溢出: out of memory oom | 交换: swap | 卡: slow sluggish | 慢: slow latency
服务器: | 主机: | 机器: | 机子: | 系统: | 排查: | 原因:
进程: process | 线程: thread | 服务: service | 挂了: down failed | 宕机: down crash | 崩溃: crash
重启: restart | 起不来: fails to start | 启动失败: fails to start | 被杀: killed | 杀掉: kill killed
端口: port | 监听: listen listening | 连不上: connection refused unreachable | 防火墙: firewall
负载: load average | 飙升: spike surge | 等待: wait | 读写: io read write | 延迟: latency
时间: time clock | 时钟: clock | 不准: drift offset wrong | 偏差: offset skew drift | 同步: sync synchronised
域名: dns domain name | 解析: resolve resolution dns | 证书: certificate tls ssl | 过期: expired expiry
到期: expiry expires | 续签: renew renewal | 续期: renew renewal | 网卡: nic network interface
丢包: packet loss drops | 网络: network | 坏道: bad sectors | 扇区: sector | 坏盘: failed disk
更换: replace replacement | 换盘: disk replacement | 寿命: wear endurance | 固态: ssd
阵列: raid array | 降级: degraded | 重建: rebuild | 掉线: offline failed missing | 温度: temperature
过热: overheating temperature | 空调: cooling crac air conditioning | 散热: cooling | 湿度: humidity
停电: power outage mains | 断电: power outage | 市电: mains power | 电池: battery | 发电机: generator
数据库: database mysql | 连接数: connections max_connections | 连接: connection | 网关: gateway 502
超时: timeout timed out | 上游: upstream | 堆: heap | 垃圾回收: gc garbage collection | 内核: kernel
"""
GLOSSARY: dict[str, str] = dict(
    (zh.strip(), en.strip())
    for line in _GLOSSARY_TEXT.strip().splitlines()
    for zh, en in (item.split(":", 1) for item in line.split("|"))
)


_LONGEST_TERM = max(map(len, GLOSSARY))


def expand_query(text: str) -> str:
    """English words for the Chinese ops terms in the text, longest term first ('' when there are none).

    Forward maximum matching, so 服务器 (server) is read as one term and not as 服务 (service) + 器.
    """
    words: list[str] = []
    for run in _CJK.findall(text):
        i = 0
        while i < len(run):
            for size in range(min(_LONGEST_TERM, len(run) - i), 0, -1):
                if (term := run[i : i + size]) in GLOSSARY:
                    words.extend([GLOSSARY[term]] if GLOSSARY[term] else [])
                    i += size
                    break
            else:
                i += 1
    return " ".join(words)


class _Cutter(Protocol):
    FREQ: dict[str, int]

    def cut(self, sentence: str) -> Iterable[str]: ...


_jieba: _Cutter | None = None
_jieba_lock = threading.Lock()


def _cutter() -> _Cutter:
    """jieba's tokenizer, built once per process with its logging quiet and its cache file kept private."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            with tempfile.TemporaryDirectory(prefix="opswatchdog-jieba-") as private:
                tokenizer.tmp_dir = private
                tokenizer.initialize()
            _jieba = tokenizer
        return _jieba


def fold_en(word: str) -> str:
    """Fold common English inflections so `disks`, `failing` and `failed` match `disk` and `fail`."""
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            stem = word[: -len(suffix)]
            return stem[:-1] if stem[-1] == stem[-2] and stem[-1] not in "lsz" else stem
    return word


def _latin_tokens(text: str) -> Iterable[str]:
    for m in _WORD.finditer(text.lower()):
        word = m.group()
        parts = _PARTS.findall(word)
        if len(parts) > 1:
            yield word
        for part in parts:
            if len(part) > 1 and part not in EN_STOPWORDS:
                yield fold_en(part)


def has_cjk(text: str) -> bool:
    """Whether the text contains Chinese characters."""
    return _CJK.search(text) is not None


def _zh_words(run: str, query: bool) -> Iterable[str]:
    """jieba words of a CJK run without stopwords; for indexing also their known 2- and 3-character parts.

    This is jieba's cut_for_search, with stopwords dropped as whole words (服务器 drops 服务 and 务器 too).
    """
    cutter = _cutter()
    for word in cutter.cut(run):
        if word in ZH_STOPWORDS or not _ZH_KEEP.match(word):
            continue
        if not query:
            for n in (2, 3):
                parts = (word[i : i + n] for i in range(len(word) - n + 1))
                yield from (part for part in parts if len(word) > n and cutter.FREQ.get(part))
        yield word


def tokenize(text: str, query: bool = False) -> list[str]:
    """Tokens of mixed zh/en text: jieba words for CJK runs, folded words otherwise.

    Indexed text uses jieba's search mode (内存泄漏 → 内存, 泄漏, 内存泄漏) so a query word matches inside
    longer words; a query uses the precise mode (内存泄漏) so one query word is not counted three times.
    """
    tokens: list[str] = []
    pos = 0
    for m in _CJK.finditer(text):
        tokens.extend(_latin_tokens(text[pos : m.start()]))
        tokens.extend(_zh_words(m.group(), query))
        pos = m.end()
    tokens.extend(_latin_tokens(text[pos:]))
    return tokens


class BM25:
    """Okapi BM25 with per-term postings precomputed, so a query costs one dict lookup per query term."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(docs)
        avgdl = sum(len(d) for d in docs) / self.size if docs else 0.0
        tfs = [Counter(d) for d in docs]
        df: Counter[str] = Counter()
        for tf in tfs:
            df.update(tf.keys())
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, (doc, tf) in enumerate(zip(docs, tfs, strict=True)):
            norm = k1 * (1 - b + b * len(doc) / avgdl) if avgdl else k1
            for term, n in tf.items():
                idf = math.log(1 + (self.size - df[term] + 0.5) / (df[term] + 0.5))
                self.postings.setdefault(term, []).append((i, idf * n * (k1 + 1) / (n + norm)))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """BM25 score of every document sharing a term with the query (repeated query terms count once)."""
        acc: dict[int, float] = {}
        for term in set(query):
            for doc, weight in self.postings.get(term, ()):
                acc[doc] = acc.get(doc, 0.0) + weight
        return acc

    def top(self, query: Iterable[str], n: int) -> list[tuple[int, float]]:
        """The n best (document index, score) pairs, best first; documents without a shared term are left out."""
        ranked = sorted(self.scores(query).items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:n]
