// SPDX-License-Identifier: GPL-2.0
/*
 * sbwork: the small static workloads and inputs of dune-sandbox-bench
 * (bench/sandbox-bench.c).  Each mode prints one line (or its input) to
 * stdout, so a plain and a sandboxed run can be compared byte for byte.
 *
 *   sbwork null            nothing: the cost of a process start and exit
 *   sbwork calls N         N getppid system calls
 *   sbwork pages N         first writes to N fresh 4 KiB pages (one mmap)
 *   sbwork text BYTES      BYTES of deterministic word text (compressible)
 *   sbwork csrc FUNCS      a C translation unit of FUNCS functions, no
 *                          #include (for a compiler with no headers)
 *   sbwork sql ROWS        an SQL script: ROWS rows, then aggregates
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static const char *const words[] = {
	"the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he",
	"was", "for", "on", "are", "as", "with", "his", "they", "at", "be",
	"this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
	"what", "all", "were", "we", "when", "your", "can", "said", "there",
	"kernel", "guest", "page", "table", "exit", "ring", "sandbox", "monitor",
	"system", "call", "process", "thread", "memory", "signal", "vector",
};

static int text(long bytes)
{
	char line[128];
	long done = 0;

	while (done < bytes) {
		int n = 0, w = 6 + next() % 8;

		for (int i = 0; i < w; i++)
			n += snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "",
				      words[next() % (sizeof(words) / sizeof(words[0]))]);
		line[n++] = '\n';
		if (n > bytes - done)
			n = bytes - done;
		fwrite(line, 1, n, stdout);
		done += n;
	}
	return 0;
}

static int csrc(long funcs)
{
	for (long i = 0; i < funcs; i++) {
		printf("struct s%ld { long a, b; int c[%ld]; };\n", i, 1 + i % 7);
		printf("long f%ld(long x, struct s%ld *p)\n{\n\tlong r = x;\n", i, i);
		printf("\tfor (int i = 0; i < %ld; i++) {\n", 1 + i % 7);
		printf("\t\tr = r * %u + p->c[i] - (x >> %ld);\n", next() % 1000, i % 13);
		printf("\t\tif (r %% 3 == %ld) r ^= p->a; else r += p->b;\n\t}\n", i % 3);
		printf("\treturn %s;\n}\n", i ? "r + f0(r, (void *)p)" : "r");
	}
	return 0;
}

static int sql(long rows)
{
	printf("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, w TEXT, v REAL);\n");
	printf("BEGIN;\n");
	for (long i = 0; i < rows; i++)
		printf("INSERT INTO t(k, w, v) VALUES(%u, '%s', %u.%02u);\n", next() % 997,
		       words[next() % (sizeof(words) / sizeof(words[0]))], next() % 10000,
		       next() % 100);
	printf("COMMIT;\nCREATE INDEX tk ON t(k);\n");
	printf("SELECT w, count(*), sum(k), printf('%%.2f', avg(v)) FROM t GROUP BY w ORDER BY w;\n");
	printf("SELECT count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < b.id AND a.w = b.w;\n");
	printf("SELECT k, group_concat(DISTINCT w) FROM t WHERE k %% 97 = 1 GROUP BY k ORDER BY k;\n");
	return 0;
}

static int calls(long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getppid) > 0;
	printf("calls %ld\n", sum);
	return 0;
}

static int pages(long n)
{
	char *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	long sum = 0;

	if (p == MAP_FAILED) {
		perror("sbwork: mmap");
		return 1;
	}
	madvise(p, n * 4096, MADV_NOHUGEPAGE);	/* a page each, as the row says */
	for (long i = 0; i < n; i++)
		p[i * 4096] = (char)i;
	for (long i = 0; i < n; i++)
		sum += p[i * 4096] == (char)i;
	printf("pages %ld\n", sum);
	return munmap(p, n * 4096) ? 1 : 0;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 0;

	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "null"))
		return 0;
	if (argc < 3 || n < 0)
		goto usage;
	if (!strcmp(argv[1], "calls"))
		return calls(n);
	if (!strcmp(argv[1], "pages"))
		return pages(n);
	if (!strcmp(argv[1], "text"))
		return text(n);
	if (!strcmp(argv[1], "csrc"))
		return csrc(n);
	if (!strcmp(argv[1], "sql"))
		return sql(n);
usage:
	fprintf(stderr, "usage: sbwork null | calls N | pages N | text BYTES | csrc FUNCS | sql ROWS\n");
	return 2;
}
