#include "web/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/error.h"
#include "test_files.h"
#include "web/basic_auth.h"
#include "web/tls.h"

namespace scalr_usage {
namespace {

using test_files::TempDir;
using test_files::write_text;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Users = std::map<std::string, std::string>;

// Public bcrypt test vectors (Openwall's crypt_blowfish test suite), cost 05: independent of
// libxcrypt and of this code. The last password is longer than bcrypt's 72 bytes.
constexpr const char* kHashUU = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
constexpr const char* kHashUUU = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK";
constexpr const char* kHashX = "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a";
constexpr const char* kHashLong = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
constexpr const char* kLongPassword =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are "
    "ignored";

std::string web_error(const std::string& yaml, const std::string& base_dir = "") {
  try {
    parse_web_config(yaml, base_dir);
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

// A self-signed EC certificate and its key as PEM files, made with OpenSSL's API.
struct CertFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};

CertFiles make_cert(const std::filesystem::path& dir, const std::string& name) {
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                                &EVP_PKEY_free);
  const std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) throw std::runtime_error("OpenSSL could not make a key or certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  CertFiles files{dir / (name + ".crt"), dir / (name + ".key")};
  const auto write = [](const std::filesystem::path& path, auto&& writer) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "w"),
                                                               &std::fclose);
    if (!file || writer(file.get()) != 1) throw std::runtime_error("cannot write " + path.string());
  };
  write(files.cert, [&](std::FILE* f) { return PEM_write_X509(f, cert.get()); });
  write(files.key, [&](std::FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return files;
}

std::string tls_yaml(const CertFiles& files, const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: " + files.cert.string() +
         "\n  key_file: " + files.key.string() + "\n" + extra;
}

std::string basic(const std::string& user_colon_password) {
  // Written out by hand for the few inputs used, so the test does not trust decode_base64.
  if (user_colon_password == "alice:U*U") return "Basic YWxpY2U6VSpV";
  if (user_colon_password == "alice:U*U*") return "Basic YWxpY2U6VSpVKg==";
  if (user_colon_password == "bob:U*U") return "Basic Ym9iOlUqVQ==";
  if (user_colon_password == "mallory:U*U") return "Basic bWFsbG9yeTpVKlU=";
  ADD_FAILURE() << "no encoding for " << user_colon_password;
  return "";
}

// --- bcrypt hashes ----------------------------------------------------------------------------

TEST(BcryptHash, AcceptsTheVariantsLibxcryptReads) {
  for (const char* hash : {kHashUU, kHashUUU, kHashX, kHashLong}) {
    EXPECT_TRUE(is_bcrypt_hash(hash)) << hash;
    std::string other(hash);
    other[2] = 'b';
    EXPECT_TRUE(is_bcrypt_hash(other)) << other;
    other[2] = 'y';
    EXPECT_TRUE(is_bcrypt_hash(other)) << other;
  }
  EXPECT_TRUE(is_bcrypt_hash("$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  EXPECT_TRUE(is_bcrypt_hash("$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

TEST(BcryptHash, RejectsEverythingElse) {
  const std::string good = kHashUU;
  for (const std::string& bad : {
           std::string(""),
           std::string("U*U"),                             // a password, not a hash
           "$2x$" + good.substr(4),                        // the buggy-8-bit variant
           "$2$" + good.substr(4),                         // no minor version
           "$1$" + good.substr(4),                         // MD5 crypt prefix
           "$2a$03$" + good.substr(7),                     // cost below 4
           "$2a$32$" + good.substr(7),                     // cost above 31
           "$2a$5$" + good.substr(7),                      // one-digit cost
           "$2a$05" + good.substr(6, 1) + good.substr(8),  // one character short
           good.substr(0, 59),                             // truncated
           good + "e",                                     // too long
           good.substr(0, 20) + "!" + good.substr(21),     // not bcrypt base64
           good.substr(0, 20) + "+" + good.substr(21),     // standard base64, not bcrypt's
           good.substr(0, 28) + "/" + good.substr(29),     // salt's last char not canonical
           good.substr(0, 59) + "X",                       // hash's last char not canonical
           "  " + good.substr(2),                          // leading spaces
       }) {
    EXPECT_FALSE(is_bcrypt_hash(bad)) << bad;
  }
}

// --- Authorization header ---------------------------------------------------------------------

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_TRUE(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "xbc"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_FALSE(constant_time_equals("\x80", "\x00"));
}

TEST(Base64, DecodesStrictRfc4648) {
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("Zg=="), "f");
  EXPECT_EQ(decode_base64("Zm8="), "fo");
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
  EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar");
  EXPECT_EQ(decode_base64("//79"), "\xff\xfe\xfd");
  EXPECT_EQ(decode_base64("AA=="), std::string(1, '\0'));
  for (const char* bad : {"Zg", "Zg=", "Zm9", "Z===", "Zg==Zg==", "Zm=v", "Zm9v!", "Zm9v\n",
                          "Zm 9v", "-_-_", "===="}) {
    EXPECT_EQ(decode_base64(bad), std::nullopt) << bad;
  }
}

TEST(BasicAuthorization, ParsesUserAndPassword) {
  const auto alice = parse_basic_authorization("Basic YWxpY2U6VSpV");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(alice->password, "U*U");
  // The scheme in any case, with extra blanks around.
  for (const char* header : {"basic YWxpY2U6VSpV", "BASIC YWxpY2U6VSpV", "  Basic \t YWxpY2U6VSpV ",
                             "bAsIc YWxpY2U6VSpV"}) {
    const auto parsed = parse_basic_authorization(header);
    ASSERT_TRUE(parsed) << header;
    EXPECT_EQ(parsed->user, "alice");
  }
  // Only the first colon separates: passwords may contain colons. Empty parts are kept.
  const auto colons = parse_basic_authorization("Basic dTpwOmE6c3M=");  // "u:p:a:ss"
  ASSERT_TRUE(colons);
  EXPECT_EQ(colons->user, "u");
  EXPECT_EQ(colons->password, "p:a:ss");
  const auto empty = parse_basic_authorization("Basic Og==");  // ":"
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->user, "");
  EXPECT_EQ(empty->password, "");
  // UTF-8 bytes as sent: "jürgen:pässwörd".
  const auto unicode = parse_basic_authorization("Basic asO8cmdlbjpww6Rzc3fDtnJk");
  ASSERT_TRUE(unicode);
  EXPECT_EQ(unicode->user, "j\xc3\xbcrgen");
  EXPECT_EQ(unicode->password, "p\xc3\xa4ssw\xc3\xb6rd");
}

TEST(BasicAuthorization, RejectsMalformedHeaders) {
  for (const char* header : {
           "",                         // nothing
           "Basic",                    // no credentials
           "Basic ",                   // empty credentials: no colon
           "YWxpY2U6VSpV",             // no scheme
           "Bearer YWxpY2U6VSpV",      // another scheme
           "Basically YWxpY2U6VSpV",   // not the scheme word
           "Basic YWxpY2U",            // bad length
           "Basic YWxpY2U=",           // "alice": no colon
           "Basic YWxp Y2U6VSpV",      // blank inside
           "Basic YWxpY2U6VSpV YWxp",  // trailing junk
           "Basic !!!!",               // not base64
           "Basic YWxpY2U6VSpV==",     // padding where none belongs
           "Basic YWxpY2UAOlUqVQ==",   // "alice\0:U*U": a NUL byte
           "Basic YWxpY2U6VSpVAA==",   // "alice:U*U\0": crypt() would cut here
       }) {
    EXPECT_EQ(parse_basic_authorization(header), std::nullopt) << header;
  }
}

// --- the authenticator ------------------------------------------------------------------------

TEST(BasicAuthenticator, RightAndWrongPasswordsUnknownUsers) {
  const BasicAuthenticator auth(Users{{"alice", kHashUU}, {"bob", kHashX}});
  using Outcome = BasicAuthenticator::Outcome;
  EXPECT_EQ(auth.authenticate(basic("alice:U*U").c_str()).outcome, Outcome::ok);
  EXPECT_EQ(auth.authenticate(basic("alice:U*U").c_str()).user, "alice");
  EXPECT_EQ(auth.authenticate(basic("alice:U*U*").c_str()).outcome, Outcome::rejected);
  // bob's hash is of U*U*U: alice's password is no good for bob.
  EXPECT_EQ(auth.authenticate(basic("bob:U*U").c_str()).outcome, Outcome::rejected);
  const auto unknown = auth.authenticate(basic("mallory:U*U").c_str());
  EXPECT_EQ(unknown.outcome, Outcome::rejected);  // the same answer as a wrong password
  EXPECT_EQ(unknown.user, "mallory");
  EXPECT_EQ(auth.authenticate(nullptr).outcome, Outcome::missing);
  EXPECT_EQ(auth.authenticate("Basic !!!!").outcome, Outcome::malformed);
  EXPECT_EQ(auth.authenticate("Bearer abc").outcome, Outcome::malformed);
}

TEST(BasicAuthenticator, PasswordsBeyondSeventyTwoBytesAsBcryptReadsThem) {
  const std::string encoded = "Basic " + std::string("bG9uZzo=");  // "long:"
  const BasicAuthenticator auth(Users{{"long", kHashLong}});
  // "long:" + the password, base64 by hand would be long; build it from decode's inverse.
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto encode = [](const std::string& in) {
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                         (static_cast<unsigned char>(in[i + 1]) << 8) |
                         static_cast<unsigned char>(in[i + 2]);
      for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
    }
    if (i + 1 == in.size()) {
      const unsigned v = static_cast<unsigned char>(in[i]) << 16;
      out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63]} + "==";
    } else if (i + 2 == in.size()) {
      const unsigned v =
          (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
      out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63],
                         kAlphabet[(v >> 6) & 63]} +
             "=";
    }
    return out;
  };
  EXPECT_EQ(encode("long:"), "bG9uZzo=");  // the encoder agrees with the one written by hand
  EXPECT_EQ(
      auth.authenticate(("Basic " + encode(std::string("long:") + kLongPassword)).c_str()).outcome,
      BasicAuthenticator::Outcome::ok);
  EXPECT_EQ(auth.authenticate(encoded.c_str()).outcome, BasicAuthenticator::Outcome::rejected);
}

TEST(BasicAuthenticator, UnknownUsersCostABcryptToo) {
  const BasicAuthenticator auth(Users{{"alice", kHashUU}});
  const std::size_t before = auth.bcrypt_runs();
  auth.authenticate(basic("mallory:U*U").c_str());
  EXPECT_EQ(auth.bcrypt_runs(), before + 1);
  auth.authenticate(basic("alice:U*U*").c_str());
  EXPECT_EQ(auth.bcrypt_runs(), before + 2);
  // A header that cannot be parsed is refused before any bcrypt: it names no user.
  auth.authenticate("Basic !!!!");
  auth.authenticate(nullptr);
  EXPECT_EQ(auth.bcrypt_runs(), before + 2);
}

TEST(BasicAuthenticator, CachesSuccessesOnly) {
  const BasicAuthenticator auth(Users{{"alice", kHashUU}});
  using Outcome = BasicAuthenticator::Outcome;
  EXPECT_EQ(auth.authenticate(basic("alice:U*U").c_str()).outcome, Outcome::ok);
  EXPECT_EQ(auth.bcrypt_runs(), 1u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(auth.authenticate(basic("alice:U*U").c_str()).outcome, Outcome::ok);
  }
  EXPECT_EQ(auth.bcrypt_runs(), 1u);  // every later scrape came from the cache
  // A wrong password is checked every time (and never cached as good).
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(auth.authenticate(basic("alice:U*U*").c_str()).outcome, Outcome::rejected);
  }
  EXPECT_EQ(auth.bcrypt_runs(), 4u);
  // The cache is per user and password: another user with alice's password is not let in.
  EXPECT_EQ(auth.authenticate(basic("mallory:U*U").c_str()).outcome, Outcome::rejected);
}

TEST(BasicAuthenticator, ThreadSafe) {
  const BasicAuthenticator auth(Users{{"alice", kHashUU}, {"bob", kHashX}});
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (auth.authenticate(basic("alice:U*U").c_str()).outcome !=
            BasicAuthenticator::Outcome::ok) {
          ++failures[static_cast<std::size_t>(t)];
        }
        if (auth.authenticate(basic("bob:U*U").c_str()).outcome !=
            BasicAuthenticator::Outcome::rejected) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// --- the web configuration file ---------------------------------------------------------------

TEST(WebConfig, EmptyFileMeansNothing) {
  for (const char* text : {"", "# comment only\n", "---\n", "tls_server_config:\n"}) {
    const WebConfigFile file = parse_web_config(text);
    EXPECT_FALSE(file.tls) << text;
    EXPECT_TRUE(file.basic_auth_users.empty()) << text;
    EXPECT_TRUE(file.headers.empty()) << text;
  }
}

TEST(WebConfig, UsersAndHeaders) {
  const WebConfigFile file =
      parse_web_config(std::string("basic_auth_users:\n  alice: '") + kHashUU +
                       "'\n  \"j\xc3\xbcrgen\": '" + kHashX +
                       "'\n"
                       "http_server_config:\n  http2: false\n"
                       "  headers:\n    X-Frame-Options: sameorigin\n"
                       "    Content-Security-Policy: \"default-src 'self'\"\n"
                       "    X-XSS-Protection: ''\n");
  EXPECT_FALSE(file.tls);
  EXPECT_EQ(file.basic_auth_users.size(), 2u);
  EXPECT_EQ(file.basic_auth_users.at("alice"), kHashUU);
  EXPECT_EQ(file.basic_auth_users.at("j\xc3\xbcrgen"), kHashX);
  EXPECT_EQ(file.headers, (std::vector<std::pair<std::string, std::string>>{
                              {"X-Frame-Options", "sameorigin"},
                              {"Content-Security-Policy", "default-src 'self'"}}));
}

TEST(WebConfig, ErrorsNameTheKey) {
  EXPECT_EQ(web_error("tls_server_config:\n  foo: 1\n"),
            "web.config.file tls_server_config.foo: unknown key (line 2)");
  EXPECT_EQ(web_error("tls_server_config:\n  key_fiel: x\n"),
            "web.config.file tls_server_config.key_fiel: unknown key, did you mean key_file? "
            "(line 2)");
  EXPECT_EQ(
      web_error("basic_auth_user: {}\n"),
      "web.config.file basic_auth_user: unknown key, did you mean basic_auth_users? (line 1)");
  EXPECT_EQ(web_error("http_server_config:\n  http3: true\n"),
            "web.config.file http_server_config.http3: unknown key, did you mean http2? (line 2)");
  EXPECT_THAT(web_error("tls_server_config: 5\n"),
              StartsWith("web.config.file tls_server_config: want a mapping of keys, got a single "
                         "value"));
  EXPECT_THAT(web_error("basic_auth_users: [a, b]\n"),
              StartsWith("web.config.file basic_auth_users: want a mapping of user names"));
  EXPECT_THAT(web_error("a: [\n"), StartsWith("web.config.file: YAML syntax error at line"));
  EXPECT_EQ(web_error("- a\n"),
            "web.config.file: want a mapping of keys at the top level, got a list");
  EXPECT_EQ(web_error("a: 1\n---\nb: 2\n"), "web.config.file: has 2 YAML documents, want one");
  EXPECT_THAT(web_error("basic_auth_users:\n  alice: '" + std::string(kHashUU) + "'\n  alice: '" +
                        kHashX + "'\n"),
              StartsWith("web.config.file basic_auth_users.alice: duplicate key"));
}

TEST(WebConfig, UnsupportedSettingsFailInsteadOfBeingIgnored) {
  for (const auto& [yaml, key] : std::vector<std::pair<std::string, std::string>>{
           {"rate_limit:\n  interval: 1s\n", "rate_limit"},
           {"http_server_config:\n  http2: true\n", "http_server_config.http2"},
           {"tls_server_config:\n  cert: abc\n", "tls_server_config.cert"},
           {"tls_server_config:\n  key: abc\n", "tls_server_config.key"},
           {"tls_server_config:\n  client_ca: abc\n", "tls_server_config.client_ca"},
           {"tls_server_config:\n  client_allowed_sans: [a]\n",
            "tls_server_config.client_allowed_sans"},
           {"tls_server_config:\n  min_version: TLS10\n", "tls_server_config.min_version"},
           {"tls_server_config:\n  min_version: TLS11\n", "tls_server_config.min_version"},
           {"tls_server_config:\n  client_auth_type: RequestClientCert\n",
            "tls_server_config.client_auth_type"},
           {"tls_server_config:\n  client_auth_type: RequireAnyClientCert\n",
            "tls_server_config.client_auth_type"},
       }) {
    EXPECT_THAT(web_error(yaml), StartsWith("web.config.file " + key + ": not supported")) << yaml;
  }
}

TEST(WebConfig, BadValues) {
  EXPECT_THAT(web_error("tls_server_config:\n  min_version: TLS14\n"),
              StartsWith("web.config.file tls_server_config.min_version: want TLS12 or TLS13, got "
                         "\"TLS14\""));
  EXPECT_THAT(web_error("tls_server_config:\n  client_auth_type: Yes\n"),
              StartsWith("web.config.file tls_server_config.client_auth_type: want NoClientCert,"));
  EXPECT_THAT(web_error("tls_server_config:\n  prefer_server_cipher_suites: on\n"),
              StartsWith("web.config.file tls_server_config.prefer_server_cipher_suites: want true "
                         "or false"));
  EXPECT_THAT(web_error("tls_server_config:\n  cipher_suites: [TLS_NOPE]\n"),
              StartsWith("web.config.file tls_server_config.cipher_suites[0]: unknown cipher "
                         "suite \"TLS_NOPE\""));
  EXPECT_THAT(web_error("tls_server_config:\n  curve_preferences: [CurveP256, P-256]\n"),
              StartsWith("web.config.file tls_server_config.curve_preferences[1]: unknown curve "
                         "\"P-256\""));
  EXPECT_THAT(web_error("http_server_config:\n  headers:\n    Server: x\n"),
              StartsWith("web.config.file http_server_config.headers.Server: this header cannot "
                         "be set"));
  EXPECT_THAT(web_error("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n"),
              StartsWith("web.config.file http_server_config.headers.X-Content-Type-Options: want "
                         "nosniff, got \"sniff\""));
  EXPECT_THAT(web_error("http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nX: y\"\n"),
              HasSubstr("on a single line"));
}

TEST(WebConfig, UsersMustHaveBcryptHashesAndTheErrorNeverShowsTheValue) {
  const std::string password = "hunter2-RECOGNISABLE";
  const std::string message = web_error("basic_auth_users:\n  alice: " + password + "\n");
  EXPECT_THAT(message, StartsWith("web.config.file basic_auth_users.alice: not a bcrypt hash"));
  EXPECT_THAT(message, Not(HasSubstr("RECOGNISABLE")));
  EXPECT_THAT(web_error("basic_auth_users:\n  alice:\n"),
              StartsWith("web.config.file basic_auth_users.alice: empty hash"));
  EXPECT_THAT(web_error(std::string("basic_auth_users:\n  \"a:b\": '") + kHashUU + "'\n"),
              StartsWith("web.config.file basic_auth_users.\"a:b\": a user name cannot contain"));
  EXPECT_THAT(web_error(std::string("basic_auth_users:\n  \"\": '") + kHashUU + "'\n"),
              StartsWith("web.config.file basic_auth_users"));
}

TEST(WebConfig, TlsCertificateAndKeyTogether) {
  const TempDir dir;
  const CertFiles server = make_cert(dir.path(), "server");
  const CertFiles other = make_cert(dir.path(), "other");

  const WebConfigFile file = parse_web_config(tls_yaml(server));
  ASSERT_TRUE(file.tls);
  EXPECT_EQ(file.tls->cert_file, server.cert.string());
  EXPECT_EQ(file.tls->key_file, server.key.string());
  EXPECT_EQ(file.tls->min_version, TlsVersion::tls12);
  EXPECT_EQ(file.tls->max_version, TlsVersion::tls13);
  EXPECT_EQ(file.tls->client_auth, ClientAuth::none);
  EXPECT_TRUE(file.tls->cipher_list.empty());

  EXPECT_EQ(web_error("tls_server_config:\n  cert_file: " + server.cert.string() + "\n"),
            "web.config.file tls_server_config.key_file: required with cert_file");
  EXPECT_EQ(web_error("tls_server_config:\n  key_file: " + server.key.string() + "\n"),
            "web.config.file tls_server_config.cert_file: required with key_file");
  // Settings without a certificate would be ignored by the toolkit (plain HTTP): an error here.
  EXPECT_THAT(web_error("tls_server_config:\n  min_version: TLS13\n"),
              StartsWith("web.config.file tls_server_config.cert_file: required, with key_file"));
  EXPECT_EQ(web_error("tls_server_config:\n  cert_file: " + server.cert.string() +
                      "\n  key_file: " + other.key.string() + "\n"),
            "web.config.file tls_server_config.key_file: " + other.key.string() +
                " is not the key of cert_file " + server.cert.string());
  const std::string missing = (dir.path() / "missing.pem").string();
  EXPECT_EQ(web_error("tls_server_config:\n  cert_file: " + missing +
                      "\n  key_file: " + server.key.string() + "\n"),
            "web.config.file tls_server_config.cert_file: cannot read " + missing +
                ": No such file or directory");
  write_text(dir.path() / "empty.pem", "");
  EXPECT_THAT(web_error("tls_server_config:\n  cert_file: " + server.cert.string() +
                        "\n  key_file: " + (dir.path() / "empty.pem").string() + "\n"),
              HasSubstr("key_file: cannot read " + (dir.path() / "empty.pem").string() +
                        ": the file is empty"));
  // The certificate where the key belongs: no key in it.
  EXPECT_THAT(web_error("tls_server_config:\n  cert_file: " + server.cert.string() +
                        "\n  key_file: " + server.cert.string() + "\n"),
              StartsWith("web.config.file tls_server_config.key_file: cannot load a PEM private "
                         "key from " +
                         server.cert.string()));
  // A key that is not a certificate.
  EXPECT_THAT(web_error("tls_server_config:\n  cert_file: " + server.key.string() +
                        "\n  key_file: " + server.key.string() + "\n"),
              StartsWith("web.config.file tls_server_config.cert_file: cannot load a PEM "
                         "certificate from " +
                         server.key.string()));
}

TEST(WebConfig, TlsRelativePathsAreRelativeToTheFile) {
  const TempDir dir;
  std::filesystem::create_directory(dir.path() / "certs");
  make_cert(dir.path() / "certs", "server");
  const WebConfigFile file = parse_web_config(
      "tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n",
      dir.path().string());
  ASSERT_TRUE(file.tls);
  EXPECT_EQ(file.tls->cert_file, (dir.path() / "certs/server.crt").string());

  write_text(dir.path() / "web.yml",
             "tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n");
  const WebConfigFile loaded = load_web_config_file((dir.path() / "web.yml").string());
  ASSERT_TRUE(loaded.tls);
  EXPECT_EQ(loaded.tls->key_file, (dir.path() / "certs/server.key").string());
  EXPECT_EQ(loaded.path, (dir.path() / "web.yml").string());
}

TEST(WebConfig, TlsVersionsCiphersCurvesAndClientCertificates) {
  const TempDir dir;
  const CertFiles server = make_cert(dir.path(), "server");
  const CertFiles ca = make_cert(dir.path(), "client-ca");

  const WebConfigFile file =
      parse_web_config(tls_yaml(server,
                                "  min_version: TLS12\n  max_version: TLS12\n"
                                "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,\n"
                                "                  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n"
                                "  prefer_server_cipher_suites: false\n"
                                "  curve_preferences: [X25519, CurveP384]\n"
                                "  client_auth_type: RequireAndVerifyClientCert\n"
                                "  client_ca_file: " +
                                    ca.cert.string() + "\n"));
  ASSERT_TRUE(file.tls);
  EXPECT_EQ(file.tls->max_version, TlsVersion::tls12);
  EXPECT_EQ(file.tls->cipher_list, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_FALSE(file.tls->prefer_server_cipher_suites);
  EXPECT_EQ(file.tls->groups_list, "X25519:P-384");
  EXPECT_EQ(file.tls->client_auth, ClientAuth::require_and_verify);
  EXPECT_EQ(file.tls->client_ca_file, ca.cert.string());

  EXPECT_EQ(web_error(tls_yaml(server, "  min_version: TLS13\n  max_version: TLS12\n")),
            "web.config.file tls_server_config.max_version: TLS12 is below min_version TLS13");
  EXPECT_THAT(web_error(tls_yaml(server,
                                 "  min_version: TLS13\n  cipher_suites: "
                                 "[TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n")),
              StartsWith("web.config.file tls_server_config.cipher_suites: apply to TLS 1.2 only"));
  EXPECT_THAT(web_error(tls_yaml(server, "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")),
              HasSubstr("cipher_suites[0]: \"TLS_AES_128_GCM_SHA256\" is a TLS 1.3 suite"));
  EXPECT_THAT(web_error(tls_yaml(server, "  client_auth_type: RequireAndVerifyClientCert\n")),
              StartsWith("web.config.file tls_server_config.client_ca_file: required with "
                         "client_auth_type RequireAndVerifyClientCert"));
  EXPECT_THAT(web_error(tls_yaml(server, "  client_ca_file: " + ca.cert.string() + "\n")),
              StartsWith("web.config.file tls_server_config.client_ca_file: set, but "
                         "client_auth_type is NoClientCert"));
  EXPECT_THAT(
      web_error(tls_yaml(server, "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: " +
                                     server.key.string() + "\n")),
      StartsWith("web.config.file tls_server_config.client_ca_file: "));
}

// The message load_web_config_file() fails with, or "" when it loads.
std::string load_error(const std::string& path) {
  try {
    load_web_config_file(path);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(WebConfig, LoadFileErrors) {
  const TempDir dir;
  const std::string missing = (dir.path() / "missing.yml").string();
  EXPECT_EQ(load_error(missing),
            "web.config.file: cannot read " + missing + ": No such file or directory");
  EXPECT_THAT(load_error(dir.path().string()), HasSubstr("Is a directory"));
  // A FIFO is refused without being opened (opening it would wait for a writer: a hang here).
  const std::string fifo = (dir.path() / "web.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_error(fifo), "web.config.file: cannot read " + fifo + ": not a regular file");
  EXPECT_THAT(web_error("tls_server_config:\n  cert_file: /dev/zero\n  key_file: " + fifo + "\n"),
              StartsWith("web.config.file tls_server_config.cert_file: cannot read /dev/zero: "
                         "not a regular file"));
}

TEST(Tls, IanaCipherNames) {
  EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            "ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_THROW(openssl_cipher_name("TLS_AES_256_GCM_SHA384"), std::invalid_argument);
  EXPECT_THROW(openssl_cipher_name("ECDHE-RSA-AES128-GCM-SHA256"), std::invalid_argument);
  EXPECT_THROW(openssl_cipher_name(""), std::invalid_argument);
  EXPECT_EQ(openssl_group_name("CurveP256"), "P-256");
  EXPECT_EQ(openssl_group_name("CurveP521"), "P-521");
  EXPECT_THROW(openssl_group_name("secp256r1"), std::invalid_argument);
}

}  // namespace
}  // namespace scalr_usage
