using System.Security.Cryptography;
using System.Text;
using Ballast.Distribution.Hashing;

namespace Ballast.Tests.Distribution;

public class ManagedMd5Tests
{
    [Theory]
    [InlineData("", "d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("abc", "900150983cd24fb0d6963f7d28e17f72")]
    [InlineData("message digest", "f96b697d7cb7938d525a2f31aaf161d0")]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a")]
    public void Matches_the_rfc_1321_test_suite(string input, string hex)
    {
        var digest = new byte[16];
        ManagedMd5.HashData(Encoding.ASCII.GetBytes(input), digest);
        Assert.Equal(hex, Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void Matches_the_platform_md5_for_every_length_up_to_300()
    {
        var random = new Random(1234);
        var digest = new byte[16];
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            ManagedMd5.HashData(data, digest);
            Assert.Equal(MD5.HashData(data), digest);
        }
    }
}
