/* A Maelstrom-protocol test node in C (no JSON library: just enough scanning for its messages).
 *
 * Usage: cnode WORKLOAD [BUG]
 *   echo                 echo_ok with the same "echo" string
 *   unique-ids           ids "<node>-<boot>-<counter>", boot = pid and clock at start: unique across restarts
 *   unique-ids collide   ids "<node>-<counter>": the counter restarts at 0 after a crash, so ids repeat
 * Messages are read one per line from stdin; replies go to stdout, logs to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char node_id[64] = "";

/* The position of the value of the first `"key"` followed by a colon (not a string value equal to key). */
static const char *find_key(const char *line, const char *pat) {
    for (const char *p = strstr(line, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ') q++;
        if (*q != ':') continue;
        q++;
        while (*q == ' ') q++;
        return q;
    }
    return NULL;
}

/* Copy the JSON string value of "key" found after position `from` into out (no unescaping needed
 * for the strings this node handles; escapes are copied through verbatim). Returns 1 if found. */
static int string_field(const char *line, const char *key, char *out, size_t cap) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = find_key(line, pat);
    if (!p) return 0;
    if (*p != '"') return 0;
    p++;
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) {
        if (*p == '\\' && p[1] && n + 2 < cap) out[n++] = *p++;
        out[n++] = *p++;
    }
    out[n] = 0;
    return 1;
}

static long number_field(const char *line, const char *key) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = find_key(line, pat);
    if (!p) return -1;
    return strtol(p, NULL, 10);
}

int main(int argc, char **argv) {
    const char *workload = argc > 1 ? argv[1] : "echo";
    int collide = argc > 2 && strcmp(argv[2], "collide") == 0;
    static char line[1 << 16], src[64], type[64], echo[1 << 15];
    long counter = 0;
    long boot = (long)getpid() * 100000 + (long)(time(NULL) % 100000);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        const char *body = strstr(line, "\"body\"");
        if (!body || !string_field(line, "src", src, sizeof src) || !string_field(body, "type", type, sizeof type))
            continue;
        long msg_id = number_field(body, "msg_id");
        if (strcmp(type, "init") == 0) {
            string_field(body, "node_id", node_id, sizeof node_id);
            fprintf(stderr, "cnode %s: init (%s%s)\n", node_id, workload, collide ? ", collide" : "");
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"init_ok\",\"in_reply_to\":%ld}}\n",
                   node_id, src, msg_id);
        } else if (strcmp(type, "echo") == 0 && string_field(body, "echo", echo, sizeof echo)) {
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"echo_ok\",\"echo\":\"%s\",\"in_reply_to\":%ld}}\n",
                   node_id, src, echo, msg_id);
        } else if (strcmp(type, "generate") == 0) {
            counter++;
            if (collide)
                printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"generate_ok\",\"id\":\"%s-%ld\","
                       "\"in_reply_to\":%ld}}\n", node_id, src, node_id, counter, msg_id);
            else
                printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"generate_ok\",\"id\":\"%s-%ld-%ld\","
                       "\"in_reply_to\":%ld}}\n", node_id, src, node_id, boot, counter, msg_id);
        } else if (msg_id >= 0) {
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"error\",\"code\":10,"
                   "\"text\":\"not supported\",\"in_reply_to\":%ld}}\n", node_id, src, msg_id);
        }
    }
    return 0;
}
