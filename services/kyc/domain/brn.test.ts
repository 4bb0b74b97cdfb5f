import { brnDigits, formatBrn, isValidBrn } from "./brn";

describe("Korean business registration number", () => {
  it("when the check digit is right, then it is valid, with or without dashes", () => {
    expect(isValidBrn("220-81-62517")).toBe(true);
    expect(isValidBrn("2208162517")).toBe(true);
    expect(isValidBrn(" 220-81-62517 ")).toBe(true);
    // 123-45-67890: 1+6+21+4+15+42+7+24+45 = 165, + floor(9*5/10) = 169 -> (10 - 9) % 10 = 1, not 0
    expect(isValidBrn("123-45-67891")).toBe(true);
  });

  it("when the 9th digit times 5 carries over, then the carry counts", () => {
    // d = 000000009?: sum = 9*5 = 45, + floor(45/10) = 4 -> 49 -> check 1
    expect(isValidBrn("000-00-00091")).toBe(true);
    expect(isValidBrn("000-00-00095")).toBe(false);
  });

  it("when the check digit is wrong, then it is not valid", () => {
    expect(isValidBrn("220-81-62518")).toBe(false);
    expect(isValidBrn("123-45-67890")).toBe(false);
    for (let d = 0; d <= 9; d++) if (d !== 7) expect(isValidBrn(`220-81-6251${d}`)).toBe(false);
  });

  it("when the shape is wrong, then it is not valid", () => {
    for (const bad of ["", "220-81-6251", "220-81-625177", "22a-81-62517", "220 81 62517", "2208-1-62517", "220--81-62517"]) {
      expect(isValidBrn(bad)).toBe(false);
    }
  });

  it("when written either way, then the digits and the display form are the same", () => {
    expect(brnDigits("220-81-62517")).toBe("2208162517");
    expect(brnDigits("2208162517")).toBe("2208162517");
    expect(brnDigits("220/81/62517")).toBeNull();
    expect(formatBrn("2208162517")).toBe("220-81-62517");
  });
});
